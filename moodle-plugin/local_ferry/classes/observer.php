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
 * Catch-all event observer: filters cheaply and writes one outbox row per kept event.
 *
 * It never talks to the network, so a slow or stopped ferry can never slow a page down;
 * delivery is the job of {@see sender}, run by the tasks.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class observer {
    /** Outbox table. */
    public const TABLE = 'local_ferry_outbox';

    /** Events that are also sent one by one to ferry's per-type endpoints (event name => type). */
    public const TYPED_EVENTS = [
        '\core\event\user_created' => 'user_created',
        '\core\event\user_updated' => 'user_updated',
        '\core\event\user_enrolment_created' => 'user_enrolled',
        '\core\event\user_graded' => 'grade_updated',
    ];

    /** Outcome events: sent in "learning" mode although their edulevel is not "participating". */
    public const OUTCOME_EVENTS = [
        '\core\event\user_graded',
        '\core\event\course_module_completion_updated',
    ];

    /** Role changes: ferry learns who is staff from them, so they are sent in "learning" mode and never skipped. */
    public const ROLE_EVENTS = [
        '\core\event\role_assigned',
        '\core\event\role_unassigned',
    ];

    /**
     * Never recorded: \curl triggers url_blocked for our own delivery attempts when HTTP security
     * blocks ferry, so recording it would feed the queue from its own failures.
     */
    public const IGNORED_EVENTS = [
        '\core\event\url_blocked',
    ];

    /**
     * Erasure events: always sent, never skipped as staff, with the minimum of personal data
     * (ids and time only), so that ferry can remove what it holds about the user or enrolment.
     */
    public const DELETION_EVENTS = [
        '\core\event\user_deleted',
        '\core\event\user_enrolment_deleted',
    ];

    /** The only fields of a deletion event that are recorded: who, what, where, when. */
    public const DELETION_FIELDS = ['eventname', 'component', 'action', 'target', 'objecttable', 'objectid', 'crud',
        'edulevel', 'contextid', 'contextlevel', 'contextinstanceid', 'userid', 'courseid', 'relateduserid',
        'anonymous', 'timecreated'];

    /**
     * Capabilities that mark a user as staff in a course: editing teachers and managers can manage
     * activities, non-editing teachers can view all grades; students have neither.
     */
    public const STAFF_CAPABILITIES = ['moodle/course:manageactivities', 'moodle/grade:viewall'];

    /** Seconds between two adhoc task queue calls of one process (cron --keep-alive lives for hours). */
    public const QUEUE_INTERVAL = 10;

    /** @var int when this process last queued the adhoc send task */
    protected static $queuedat = 0;

    /**
     * Observer callback for every event ('*').
     *
     * Never throws: Moodle's event manager catches only \Exception, and an \Error here would
     * break the page that triggered the event.
     *
     * @param \core\event\base $event
     * @return void
     */
    public static function handle(\core\event\base $event): void {
        try {
            self::record($event);
        } catch (\Throwable $e) {
            // Visible at the normal debug level: a lost event should not go unnoticed.
            debugging('local_ferry: could not record ' . get_class($event) . ': ' . $e->getMessage(), DEBUG_NORMAL);
        }
    }

    /**
     * Filters the event and writes its outbox row.
     *
     * Config and staff flags are read for every event (Moodle caches both), not kept in statics:
     * a cron --keep-alive process runs for hours and would otherwise use stale settings and roles.
     *
     * @param \core\event\base $event
     * @return void
     */
    protected static function record(\core\event\base $event): void {
        global $DB;

        $config = (object)get_config('local_ferry');
        // Without a ferry URL there is nowhere to deliver to; recording would only grow the table.
        if (empty($config->url)) {
            return;
        }

        $data = $event->get_data();
        if (!self::wanted($data, (string)($config->events ?? 'learning'))) {
            return;
        }
        $skipstaff = !isset($config->skipstaff) || !empty($config->skipstaff);
        if ($skipstaff && self::is_staff_event($data)) {
            return;
        }

        $payload = in_array($data['eventname'], self::DELETION_EVENTS, true)
            ? array_intersect_key($data, array_flip(self::DELETION_FIELDS)) + ['other' => null]
            : self::build_payload($event, $data);

        $DB->insert_record(self::TABLE, (object)[
            'eventname' => substr((string)$data['eventname'], 0, 255),
            'userid' => (int)($data['userid'] ?? 0),
            'relateduserid' => (int)($data['relateduserid'] ?? 0),
            'contextid' => (int)($data['contextid'] ?? 0),
            'payload' => self::encode($payload),
            'timecreated' => time(),
            'attempts' => 0,
            'nextattempt' => 0,
            'lasterror' => null,
            'parked' => 0,
        ]);

        // checkforexisting avoids piling up identical tasks; the interval saves the query on busy pages.
        if (time() - self::$queuedat >= self::QUEUE_INTERVAL) {
            \core\task\manager::queue_adhoc_task(new task\send_outbox(), true);
            self::$queuedat = time();
        }
    }

    /**
     * The payload as JSON. A value JSON cannot hold is replaced (INF and NAN by 0, too deep by null)
     * rather than the event being lost.
     *
     * @param array $payload
     * @return string
     */
    public static function encode(array $payload): string {
        $json = json_encode($payload, sender::JSON_FLAGS);
        if ($json === false) {
            debugging('local_ferry: event data not fully encodable as JSON (' . json_last_error_msg()
                . '); unencodable values are replaced', DEBUG_DEVELOPER);
            $json = json_encode($payload, sender::JSON_FLAGS | JSON_PARTIAL_OUTPUT_ON_ERROR);
        }
        return $json === false ? json_encode(['eventname' => $payload['eventname'] ?? null]) : $json;
    }

    /**
     * Whether the event matches the configured selection.
     *
     * @param array $data event data
     * @param string $mode learning, userevents or all
     * @return bool
     */
    public static function wanted(array $data, string $mode): bool {
        // Anonymous events (e.g. anonymous feedback) must not leave Moodle tied to a user.
        if (!empty($data['anonymous'])) {
            return false;
        }
        $eventname = (string)($data['eventname'] ?? '');
        if (in_array($eventname, self::IGNORED_EVENTS, true)) {
            return false;
        }
        if (isset(self::TYPED_EVENTS[$eventname]) || in_array($eventname, self::DELETION_EVENTS, true)) {
            return true;
        }
        if ($mode === 'all') {
            return true;
        }
        if ($mode === 'userevents') {
            return false;
        }
        return (int)($data['edulevel'] ?? 0) === \core\event\base::LEVEL_PARTICIPATING
            || in_array($eventname, self::OUTCOME_EVENTS, true)
            || in_array($eventname, self::ROLE_EVENTS, true);
    }

    /**
     * Whether the event is a staff member's own activity, which must not train learner models.
     *
     * @param array $data event data
     * @return bool
     */
    public static function is_staff_event(array $data): bool {
        $eventname = (string)($data['eventname'] ?? '');
        // Account, enrolment and role events are done by admins by nature; ferry needs them all.
        if (
            isset(self::TYPED_EVENTS[$eventname]) || in_array($eventname, self::ROLE_EVENTS, true)
                || in_array($eventname, self::DELETION_EVENTS, true)
        ) {
            return false;
        }
        // For outcomes the learner is the related user (a teacher grades a student).
        $userid = (int)($data['userid'] ?? 0);
        if (in_array($eventname, self::OUTCOME_EVENTS, true) && !empty($data['relateduserid'])) {
            $userid = (int)$data['relateduserid'];
        }
        if ($userid <= 0) {
            return false;
        }
        return self::is_staff($userid, (int)($data['courseid'] ?? 0));
    }

    /**
     * Site admin, or teacher / manager in the course (see STAFF_CAPABILITIES).
     *
     * @param int $userid
     * @param int $courseid 0 or the site course for events above course level
     * @return bool
     */
    protected static function is_staff(int $userid, int $courseid): bool {
        if (is_siteadmin($userid)) {
            return true;
        }
        if ($courseid <= 0) {
            return false;
        }
        $context = \context_course::instance($courseid, IGNORE_MISSING);
        return $context && has_any_capability(self::STAFF_CAPABILITIES, $context, $userid);
    }

    /**
     * Event data plus enrichment from Moodle's caches, without the IP address.
     *
     * @param \core\event\base $event
     * @param array $data event data
     * @return array
     */
    public static function build_payload(\core\event\base $event, array $data): array {
        global $PAGE, $USER;

        $payload = $data;
        // The logstore's extra fields, minus the IP: ferry has no use for it and it is personal data.
        $payload['origin'] = isset($PAGE) ? $PAGE->requestorigin : null;
        $payload['realuserid'] = \core\session\manager::is_loggedinas() ? (int)$USER->realuser : null;
        unset($payload['ip']);

        $courseid = (int)($data['courseid'] ?? 0);
        if ((int)($data['contextlevel'] ?? 0) === CONTEXT_MODULE && $courseid > 0) {
            self::add_cm($payload, self::get_cm($courseid, (int)$data['contextinstanceid']));
        }

        if ($event instanceof \core\event\user_graded) {
            self::add_grade($payload, $event, $courseid);
        }

        if ($data['eventname'] === '\core\event\course_module_completion_updated') {
            $state = $data['other']['completionstate'] ?? null;
            if ($state === null) {
                // Core attaches the completion record as a snapshot, so this normally costs no query.
                try {
                    $snapshot = $event->get_record_snapshot('course_modules_completion', $data['objectid']);
                    $state = $snapshot->completionstate;
                } catch (\Throwable $e) {
                    $state = null;
                }
            }
            $payload['completionstate'] = $state === null ? null : (int)$state;
        }

        return $payload;
    }

    /**
     * Adds finalgrade, grademax and the grade item (and its activity) of a user_graded event.
     *
     * @param array $payload
     * @param \core\event\user_graded $event
     * @param int $courseid
     * @return void
     */
    protected static function add_grade(array &$payload, \core\event\user_graded $event, int $courseid): void {
        // The event carries the grade_grade object with its grade_item loaded: no extra queries.
        $grade = $event->get_grade();
        $item = $grade->grade_item ?? null;
        $payload['gradeitem'] = (int)$grade->itemid;
        $payload['finalgrade'] = $grade->finalgrade === null ? null : (float)$grade->finalgrade;
        $payload['grademax'] = ($item && $item->grademax !== null) ? (float)$item->grademax : null;

        $cm = null;
        if ($item && $item->itemtype === 'mod' && $courseid > 0) {
            $cm = self::get_cm_by_instance($courseid, (string)$item->itemmodule, (int)$item->iteminstance);
            if ($cm) {
                $payload['cmid'] = (int)$cm->id;
                self::add_cm($payload, $cm);
            }
        }

        // Only for the per-type grade_updated call; the sender strips this key from batch logs.
        $payload['_ferry'] = [
            'itemname' => $item->itemname ?? ($cm ? $cm->name : null),
            'feedback' => $grade->feedback ?? null,
            'grader' => isset($grade->usermodified) ? (int)$grade->usermodified : (int)$payload['userid'],
            'timemodified' => isset($grade->timemodified) ? (int)$grade->timemodified : (int)$payload['timecreated'],
        ];
    }

    /**
     * Adds sectionid, modname and cmname of a course module.
     *
     * @param array $payload
     * @param \cm_info|null $cm
     * @return void
     */
    protected static function add_cm(array &$payload, $cm): void {
        if (!$cm) {
            return;
        }
        $payload['sectionid'] = (int)$cm->section;
        $payload['modname'] = (string)$cm->modname;
        $payload['cmname'] = (string)$cm->name;
    }

    /**
     * Course module from the course's cached modinfo.
     *
     * @param int $courseid
     * @param int $cmid
     * @return \cm_info|null
     */
    protected static function get_cm(int $courseid, int $cmid) {
        try {
            $cms = get_fast_modinfo($courseid)->get_cms();
            return $cms[$cmid] ?? null;
        } catch (\Throwable $e) {
            // A deleted course or module must not stop the event from being recorded.
            return null;
        }
    }

    /**
     * Course module of an activity instance from the course's cached modinfo.
     *
     * @param int $courseid
     * @param string $modname
     * @param int $instance
     * @return \cm_info|null
     */
    protected static function get_cm_by_instance(int $courseid, string $modname, int $instance) {
        try {
            $instances = get_fast_modinfo($courseid)->get_instances_of($modname);
            return $instances[$instance] ?? null;
        } catch (\Throwable $e) {
            return null;
        }
    }

    /**
     * Forgets the queue interval (a new test, or a new request in a long-lived process).
     *
     * @return void
     */
    public static function reset_caches(): void {
        self::$queuedat = 0;
    }
}
