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

namespace local_ferry;

/**
 * What is sent for an outbox row: the batch log, and the per-type payloads in the shapes of
 * ferry's /api/v1/events/moodle/{type} endpoints.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class payloads {
    /** Fields of the user record sent with user_created and user_updated (declared in the privacy metadata). */
    public const USER_FIELDS = ['username', 'firstname', 'lastname', 'email', 'idnumber', 'phone1', 'city', 'country',
        'suspended', 'deleted', 'timecreated', 'timemodified'];

    /** A manual role assignment this close to the enrolment (seconds) was made with it. */
    public const ROLE_WINDOW = 60;

    /**
     * The stable key of one row: the same on every resend, different for every row and site.
     *
     * The row's creation time guards against ids that start again at 1 after a reinstall.
     *
     * @param \stdClass $row outbox row
     * @return string
     */
    public static function idempotency_key(\stdClass $row): string {
        $site = substr(sha1(get_site_identifier()), 0, 16);
        return 'moodle:' . $site . ':' . (int)$row->id . ':' . (int)$row->timecreated;
    }

    /**
     * The log sent in a batch: the stored payload without private keys, without any IP, with its key.
     *
     * @param \stdClass $row outbox row
     * @return \stdClass
     */
    public static function batch_log(\stdClass $row): \stdClass {
        // Decoded as objects so that empty objects stay objects in the JSON sent.
        $log = json_decode($row->payload);
        if (!$log instanceof \stdClass) {
            $log = new \stdClass();
            $log->eventname = $row->eventname;
            $log->userid = (int)$row->userid;
        }
        unset($log->_ferry, $log->ip);
        $log->idempotency_key = self::idempotency_key($row);
        return $log;
    }

    /**
     * Payload of a per-type call.
     *
     * Built at send time (in cron, never during a page request) because some of it does not
     * exist yet when the event fires: enrol_user() assigns the role after user_enrolment_created.
     *
     * @param string $type user_created, user_updated, user_enrolled or grade_updated
     * @param \stdClass $row outbox row
     * @return array
     */
    public static function typed(string $type, \stdClass $row): array {
        $log = json_decode($row->payload, true) ?: [];
        $log['eventname'] = (string)($log['eventname'] ?? $row->eventname);
        $log['timecreated'] = (int)($log['timecreated'] ?? $row->timecreated);
        if ($type === 'user_created' || $type === 'user_updated') {
            $payload = self::user($log);
        } else if ($type === 'user_enrolled') {
            $payload = self::enrolment($log);
        } else {
            $payload = self::grade($log);
        }
        // The batch log's key: ferry recognises the grade it derives from grade_updated as that log.
        return $payload + ['idempotency_key' => self::idempotency_key($row)];
    }

    /**
     * user_created / user_updated: the account as it is now.
     *
     * @param array $log stored payload
     * @return array
     */
    protected static function user(array $log): array {
        global $DB;
        $userid = (int)($log['relateduserid'] ?? 0) ?: (int)($log['objectid'] ?? 0);
        $payload = ['eventname' => $log['eventname'], 'userid' => $userid];
        $user = $DB->get_record('user', ['id' => $userid], 'id, ' . implode(', ', self::USER_FIELDS));
        foreach (self::USER_FIELDS as $field) {
            $payload[$field] = $user ? $user->$field : null;
        }
        foreach (['suspended', 'deleted', 'timecreated', 'timemodified'] as $field) {
            $payload[$field] = $payload[$field] === null ? null : (int)$payload[$field];
        }
        if ($payload['timecreated'] === null) {
            $payload['timecreated'] = $log['timecreated'];
        }
        return $payload;
    }

    /**
     * user_enrolled: the enrolment and the role it gave.
     *
     * @param array $log stored payload
     * @return array
     */
    protected static function enrolment(array $log): array {
        global $DB;
        $ue = $DB->get_record('user_enrolments', ['id' => (int)($log['objectid'] ?? 0)]) ?: null;
        $userid = $ue ? (int)$ue->userid : (int)($log['relateduserid'] ?? 0);
        return [
            'eventname' => $log['eventname'],
            'enrollmentid' => (int)($log['objectid'] ?? 0),
            'userid' => $userid,
            'courseid' => (int)($log['courseid'] ?? 0),
            'roleid' => $ue ? self::enrolment_role($ue, (int)($log['contextid'] ?? 0)) : null,
            'status' => $ue ? (int)$ue->status : null,
            'timestart' => $ue ? (int)$ue->timestart : null,
            'timeend' => $ue ? (int)$ue->timeend : null,
            'timecreated' => $ue ? (int)$ue->timecreated : $log['timecreated'],
        ];
    }

    /**
     * The role that this enrolment gave, not just any role the user has in the course.
     *
     * @param \stdClass $ue user_enrolments record
     * @param int $contextid course context
     * @return int|null
     */
    public static function enrolment_role(\stdClass $ue, int $contextid): ?int {
        global $DB;
        $enrol = $DB->get_record('enrol', ['id' => (int)$ue->enrolid]) ?: null;
        $params = ['userid' => (int)$ue->userid, 'contextid' => $contextid];
        if ($enrol) {
            // Methods with protected roles (self, cohort, meta, ...) assign as enrol_<name>, item = instance.
            $own = $DB->get_records_select(
                'role_assignments',
                'userid = :userid AND contextid = :contextid AND component = :component AND itemid = :itemid',
                $params + ['component' => 'enrol_' . $enrol->enrol, 'itemid' => (int)$enrol->id],
                'id ASC',
                'id, roleid',
                0,
                1
            );
            if ($own) {
                return (int)reset($own)->roleid;
            }
        }
        // Manual enrolment assigns the chosen role without a component, in the same request.
        $manual = $DB->get_records_select(
            'role_assignments',
            "userid = :userid AND contextid = :contextid AND component = ''
                AND timemodified >= :from AND timemodified <= :to",
            $params + ['from' => (int)$ue->timecreated - self::ROLE_WINDOW,
                'to' => (int)$ue->timecreated + self::ROLE_WINDOW],
            'timemodified ASC, id ASC',
            'id, roleid',
            0,
            1
        );
        if ($manual) {
            return (int)reset($manual)->roleid;
        }
        // No role found (yet): the role the enrolment method gives by default.
        return ($enrol && (int)$enrol->roleid) ? (int)$enrol->roleid : null;
    }

    /**
     * grade_updated: everything was captured by the observer from the event's grade object.
     *
     * @param array $log stored payload
     * @return array
     */
    protected static function grade(array $log): array {
        $extra = $log['_ferry'] ?? [];
        return [
            'eventname' => $log['eventname'],
            'gradeid' => (int)($log['objectid'] ?? 0),
            'userid' => (int)($log['relateduserid'] ?? 0),
            'courseid' => (int)($log['courseid'] ?? 0),
            'itemid' => (int)($log['gradeitem'] ?? $log['other']['itemid'] ?? 0),
            'itemname' => $extra['itemname'] ?? null,
            'finalgrade' => $log['finalgrade'] ?? $log['other']['finalgrade'] ?? null,
            'grademax' => $log['grademax'] ?? null,
            'feedback' => $extra['feedback'] ?? null,
            'grader' => (int)($extra['grader'] ?? $log['userid'] ?? 0),
            'timecreated' => $log['timecreated'],
            'timemodified' => (int)($extra['timemodified'] ?? $log['timecreated']),
        ];
    }
}
