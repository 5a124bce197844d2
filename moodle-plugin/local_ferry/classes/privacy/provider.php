<?php
// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

namespace local_ferry\privacy;

use core_privacy\local\metadata\collection;
use core_privacy\local\request\approved_contextlist;
use core_privacy\local\request\approved_userlist;
use core_privacy\local\request\contextlist;
use core_privacy\local\request\transform;
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;
use local_ferry\observer;

/**
 * Privacy provider of local_ferry.
 *
 * Pending outbox rows belong to the user context of the user who acted and of the user the
 * event is about. Once delivered, the data lives in ferry (declared as an external location).
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class provider implements
    \core_privacy\local\metadata\provider,
    \core_privacy\local\request\plugin\provider,
    \core_privacy\local\request\core_userlist_provider {
    /**
     * Describes the stored and exported personal data.
     *
     * @param collection $collection
     * @return collection
     */
    public static function get_metadata(collection $collection): collection {
        $collection->add_database_table(observer::TABLE, [
            'eventname' => 'privacy:metadata:outbox:eventname',
            'userid' => 'privacy:metadata:outbox:userid',
            'relateduserid' => 'privacy:metadata:outbox:relateduserid',
            'payload' => 'privacy:metadata:outbox:payload',
            'timecreated' => 'privacy:metadata:outbox:timecreated',
            'lasterror' => 'privacy:metadata:outbox:lasterror',
        ], 'privacy:metadata:outbox');

        $collection->add_external_location_link('ferry', [
            'userid' => 'privacy:metadata:ferry:userid',
            'eventdata' => 'privacy:metadata:ferry:eventdata',
            'grades' => 'privacy:metadata:ferry:grades',
        ], 'privacy:metadata:ferry');

        return $collection;
    }

    /**
     * User context of the user, when they have pending rows.
     *
     * @param int $userid
     * @return contextlist
     */
    public static function get_contexts_for_userid(int $userid): contextlist {
        $contextlist = new contextlist();
        $sql = "SELECT ctx.id
                  FROM {context} ctx
                 WHERE ctx.contextlevel = :contextlevel
                   AND ctx.instanceid = :userid
                   AND EXISTS (SELECT 1
                                 FROM {" . observer::TABLE . "} o
                                WHERE o.userid = :userid1 OR o.relateduserid = :userid2)";
        $contextlist->add_from_sql($sql, [
            'contextlevel' => CONTEXT_USER,
            'userid' => $userid,
            'userid1' => $userid,
            'userid2' => $userid,
        ]);
        return $contextlist;
    }

    /**
     * The user of a user context, when they have pending rows.
     *
     * @param userlist $userlist
     * @return void
     */
    public static function get_users_in_context(userlist $userlist) {
        $context = $userlist->get_context();
        if ($context->contextlevel != CONTEXT_USER) {
            return;
        }
        $sql = "SELECT o.userid
                  FROM {" . observer::TABLE . "} o
                 WHERE o.userid = :userid1
                 UNION
                SELECT o.relateduserid AS userid
                  FROM {" . observer::TABLE . "} o
                 WHERE o.relateduserid = :userid2";
        $userlist->add_from_sql('userid', $sql, [
            'userid1' => $context->instanceid,
            'userid2' => $context->instanceid,
        ]);
    }

    /**
     * Exports the user's pending rows.
     *
     * @param approved_contextlist $contextlist
     * @return void
     */
    public static function export_user_data(approved_contextlist $contextlist) {
        global $DB;

        $userid = (int)$contextlist->get_user()->id;
        foreach ($contextlist->get_contexts() as $context) {
            if ($context->contextlevel != CONTEXT_USER || (int)$context->instanceid !== $userid) {
                continue;
            }
            $rows = $DB->get_records_select(
                observer::TABLE,
                'userid = :userid1 OR relateduserid = :userid2',
                ['userid1' => $userid, 'userid2' => $userid],
                'id ASC'
            );
            if (!$rows) {
                continue;
            }
            $events = [];
            foreach ($rows as $row) {
                $events[] = (object)[
                    'eventname' => $row->eventname,
                    'timecreated' => transform::datetime($row->timecreated),
                    'attempts' => (int)$row->attempts,
                    'lasterror' => $row->lasterror,
                    'parked' => transform::yesno($row->parked),
                    'eventdata' => json_decode($row->payload),
                ];
            }
            writer::with_context($context)->export_data(
                [get_string('privacy:path:outbox', 'local_ferry')],
                (object)['events' => $events]
            );
        }
    }

    /**
     * Deletes all rows of the user of a user context.
     *
     * @param \context $context
     * @return void
     */
    public static function delete_data_for_all_users_in_context(\context $context) {
        if ($context->contextlevel == CONTEXT_USER) {
            self::delete_user_rows((int)$context->instanceid);
        }
    }

    /**
     * Deletes the user's rows.
     *
     * @param approved_contextlist $contextlist
     * @return void
     */
    public static function delete_data_for_user(approved_contextlist $contextlist) {
        $userid = (int)$contextlist->get_user()->id;
        foreach ($contextlist->get_contexts() as $context) {
            if ($context->contextlevel == CONTEXT_USER && (int)$context->instanceid === $userid) {
                self::delete_user_rows($userid);
            }
        }
    }

    /**
     * Deletes the rows of the approved users of a user context.
     *
     * @param approved_userlist $userlist
     * @return void
     */
    public static function delete_data_for_users(approved_userlist $userlist) {
        $context = $userlist->get_context();
        if ($context->contextlevel != CONTEXT_USER) {
            return;
        }
        // A user context holds the data of one user only.
        if (in_array((int)$context->instanceid, array_map('intval', $userlist->get_userids()), true)) {
            self::delete_user_rows((int)$context->instanceid);
        }
    }

    /**
     * Deletes rows where the user acted or is the subject.
     *
     * @param int $userid
     * @return void
     */
    protected static function delete_user_rows(int $userid): void {
        global $DB;
        $DB->delete_records_select(
            observer::TABLE,
            'userid = :userid1 OR relateduserid = :userid2',
            ['userid1' => $userid, 'userid2' => $userid]
        );
    }
}
