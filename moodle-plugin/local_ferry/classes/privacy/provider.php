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
 * Pending outbox rows belong to the context of their event (as tool_log's logs do), and to the
 * user who acted and the user the event is about. Once delivered, the data lives in ferry,
 * declared as an external location with every field that is sent.
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
     * Every field that leaves Moodle for ferry: the batch logs (event data plus enrichment) and the
     * per-type payloads (user_created / user_updated, user_enrolled, grade_updated).
     */
    public const FERRY_FIELDS = [
        // Event data (\core\event\base::get_data()) and what the logstore adds, minus the IP.
        'eventname', 'component', 'action', 'target', 'objecttable', 'objectid', 'crud', 'edulevel', 'contextid',
        'contextlevel', 'contextinstanceid', 'userid', 'relateduserid', 'realuserid', 'courseid', 'anonymous', 'other',
        'origin', 'timecreated', 'idempotency_key',
        // Activity and outcome enrichment.
        'cmid', 'sectionid', 'modname', 'cmname', 'gradeitem', 'finalgrade', 'grademax', 'completionstate',
        // Account (user_created, user_updated).
        'username', 'firstname', 'lastname', 'email', 'idnumber', 'phone1', 'city', 'country', 'suspended', 'deleted',
        'timemodified',
        // Enrolment (user_enrolled).
        'enrollmentid', 'roleid', 'status', 'timestart', 'timeend',
        // Grade (grade_updated).
        'gradeid', 'itemid', 'itemname', 'feedback', 'grader',
    ];

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
            'contextid' => 'privacy:metadata:outbox:contextid',
            'payload' => 'privacy:metadata:outbox:payload',
            'timecreated' => 'privacy:metadata:outbox:timecreated',
            'lasterror' => 'privacy:metadata:outbox:lasterror',
        ], 'privacy:metadata:outbox');

        $fields = [];
        foreach (self::FERRY_FIELDS as $field) {
            $fields[$field] = 'privacy:metadata:ferry:' . $field;
        }
        $collection->add_external_location_link('ferry', $fields, 'privacy:metadata:ferry');

        return $collection;
    }

    /**
     * Contexts of the rows where the user acted or that are about them.
     *
     * @param int $userid
     * @return contextlist
     */
    public static function get_contexts_for_userid(int $userid): contextlist {
        $contextlist = new contextlist();
        $sql = "SELECT ctx.id
                  FROM {context} ctx
                 WHERE ctx.id IN (SELECT o.contextid
                                    FROM {" . observer::TABLE . "} o
                                   WHERE o.userid = :userid1 OR o.relateduserid = :userid2)";
        $contextlist->add_from_sql($sql, ['userid1' => $userid, 'userid2' => $userid]);
        return $contextlist;
    }

    /**
     * Users who acted in, or are the subject of, rows of the context.
     *
     * @param userlist $userlist
     * @return void
     */
    public static function get_users_in_context(userlist $userlist) {
        $params = ['contextid1' => $userlist->get_context()->id, 'contextid2' => $userlist->get_context()->id];
        $sql = "SELECT o.userid
                  FROM {" . observer::TABLE . "} o
                 WHERE o.contextid = :contextid1 AND o.userid > 0
                 UNION
                SELECT o.relateduserid AS userid
                  FROM {" . observer::TABLE . "} o
                 WHERE o.contextid = :contextid2 AND o.relateduserid > 0";
        $userlist->add_from_sql('userid', $sql, $params);
    }

    /**
     * Exports the user's pending rows, context by context, read through a recordset.
     *
     * @param approved_contextlist $contextlist
     * @return void
     */
    public static function export_user_data(approved_contextlist $contextlist) {
        global $DB;

        $userid = (int)$contextlist->get_user()->id;
        foreach ($contextlist->get_contexts() as $context) {
            $rows = $DB->get_recordset_select(
                observer::TABLE,
                'contextid = :contextid AND (userid = :userid1 OR relateduserid = :userid2)',
                ['contextid' => $context->id, 'userid1' => $userid, 'userid2' => $userid],
                'id ASC'
            );
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
            $rows->close();
            if ($events) {
                writer::with_context($context)->export_data(
                    [get_string('privacy:path:outbox', 'local_ferry')],
                    (object)['events' => $events]
                );
            }
        }
    }

    /**
     * Deletes every row of the context.
     *
     * @param \context $context
     * @return void
     */
    public static function delete_data_for_all_users_in_context(\context $context) {
        global $DB;
        $DB->delete_records(observer::TABLE, ['contextid' => $context->id]);
    }

    /**
     * Deletes the user's data in the approved contexts.
     *
     * @param approved_contextlist $contextlist
     * @return void
     */
    public static function delete_data_for_user(approved_contextlist $contextlist) {
        $userid = (int)$contextlist->get_user()->id;
        foreach ($contextlist->get_contextids() as $contextid) {
            self::delete_user_data((int)$contextid, $userid);
        }
    }

    /**
     * Deletes the data of the approved users in one context.
     *
     * @param approved_userlist $userlist
     * @return void
     */
    public static function delete_data_for_users(approved_userlist $userlist) {
        foreach ($userlist->get_userids() as $userid) {
            self::delete_user_data((int)$userlist->get_context()->id, (int)$userid);
        }
    }

    /**
     * One user's data in one context: rows about them are deleted; in rows where they acted on
     * someone else (a teacher grading a student) only their id is removed, so the other user's
     * event still reaches ferry.
     *
     * @param int $contextid
     * @param int $userid
     * @return void
     */
    protected static function delete_user_data(int $contextid, int $userid): void {
        global $DB;
        $params = ['contextid' => $contextid, 'userid1' => $userid, 'userid2' => $userid];
        $DB->delete_records_select(
            observer::TABLE,
            'contextid = :contextid AND (relateduserid = :userid1 OR (userid = :userid2 AND relateduserid = 0))',
            $params
        );
        $rows = $DB->get_recordset_select(observer::TABLE, 'contextid = :contextid AND userid = :userid', [
            'contextid' => $contextid, 'userid' => $userid]);
        foreach ($rows as $row) {
            $payload = json_decode($row->payload, true) ?: [];
            $payload['userid'] = 0;
            $payload['realuserid'] = null;
            if (isset($payload['_ferry']['grader'])) {
                $payload['_ferry']['grader'] = 0;
            }
            $DB->update_record(observer::TABLE, (object)['id' => $row->id, 'userid' => 0,
                'payload' => observer::encode($payload)]);
        }
        $rows->close();
    }
}
