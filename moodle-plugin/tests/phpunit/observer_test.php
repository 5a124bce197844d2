<?php
// PHPUnit tests of \local_ferry\observer, run against the moodle_standin (NOT Moodle).
// @license GNU GPL v3 or later

namespace local_ferry\tests;

use local_ferry\observer;
use moodle_standin\standin;

/**
 * Observer: filtering, staff skip, enrichment, no IP, one insert, no network.
 *
 * @covers \local_ferry\observer
 */
class observer_test extends ferry_testcase {
    /**
     * Modules of the fixtures' course 2.
     *
     * @return void
     */
    protected function setUp(): void {
        parent::setUp();
        standin::add_cm(2, 3, 14, 'page', 1, 'Welcome page');
        standin::add_cm(2, 30, 15, 'quiz', 1, 'Quiz 1');
        standin::add_cm(2, 21, 15, 'assign', 1, 'Essay');
    }

    /**
     * Triggers an event at the observer.
     *
     * @param array $data
     * @param object|null $grade
     * @return void
     */
    protected function trigger(array $data, $grade = null): void {
        observer::handle(standin::event($data, $grade));
    }

    public function test_page_view_is_one_insert_without_reads_or_network(): void {
        global $DB;
        $page = $this->fixtures()['\mod_page\event\course_module_viewed'];
        $page['userid'] = 4;
        $DB->calls = [];

        $this->trigger($page);

        $this->assertSame(['insert_record' => 1], $DB->calls, 'exactly one database call: the outbox insert');
        $this->assertSame([], $this->requests(), 'the observer never talks to the network');
        $rows = $this->outbox();
        $this->assertCount(1, $rows);
        $this->assertSame('\mod_page\event\course_module_viewed', $rows[0]->eventname);
        $this->assertSame('4', $rows[0]->userid);
        $this->assertSame('0', $rows[0]->attempts);
        $this->assertSame('0', $rows[0]->parked);

        $payload = json_decode($rows[0]->payload, true);
        foreach (['eventname', 'component', 'action', 'target', 'objecttable', 'objectid', 'crud', 'edulevel',
                'contextid', 'contextlevel', 'contextinstanceid', 'userid', 'courseid', 'relateduserid',
                'anonymous', 'other', 'timecreated'] as $key) {
            $this->assertArrayHasKey($key, $payload);
        }
        $this->assertSame(1754155620, $payload['timecreated']);
        $this->assertSame(14, $payload['sectionid']);
        $this->assertSame('page', $payload['modname']);
        $this->assertSame('Welcome page', $payload['cmname']);
        $this->assertSame('web', $payload['origin']);
        $this->assertNull($payload['realuserid']);
        $this->assertArrayNotHasKey('ip', $payload);
        $this->assertStringNotContainsString('192.0.2.10', $rows[0]->payload, 'the request IP never enters the outbox');
    }

    public function test_queues_one_deduplicated_adhoc_task(): void {
        $page = $this->fixtures()['\mod_page\event\course_module_viewed'];
        $page['userid'] = 4;
        $this->trigger($page);
        $this->trigger($page);
        $this->assertCount(2, $this->outbox());
        $this->assertSame(1, \core\task\manager::$queuecalls, 'one queue call per request');
        $this->assertCount(1, \core\task\manager::$queued);
        $this->assertInstanceOf(\local_ferry\task\send_outbox::class, \core\task\manager::$queued[0]);

        // A later request queues again, but checkforexisting keeps a single task.
        observer::reset_caches();
        $this->trigger($page);
        $this->assertSame(2, \core\task\manager::$queuecalls);
        $this->assertCount(1, \core\task\manager::$queued);
    }

    public function test_nothing_recorded_without_url(): void {
        set_config('url', '', 'local_ferry');
        $this->trigger($this->fixtures()['\mod_quiz\event\attempt_submitted']);
        $this->assertCount(0, $this->outbox());
        $this->assertCount(0, \core\task\manager::$queued);
    }

    public function test_learning_mode_filters(): void {
        $fixtures = $this->fixtures();
        $report = ['eventname' => '\gradereport_user\event\grade_report_viewed', 'component' => 'gradereport_user',
            'action' => 'viewed', 'target' => 'grade_report', 'crud' => 'r', 'edulevel' => 1, 'contextid' => 18,
            'contextlevel' => 50, 'contextinstanceid' => 2, 'userid' => 4, 'courseid' => 2, 'relateduserid' => 4,
            'anonymous' => 0, 'other' => null, 'timecreated' => 1754165300];
        $roleassigned = ['eventname' => '\core\event\role_assigned', 'component' => 'core', 'action' => 'assigned',
            'target' => 'role', 'objecttable' => 'role', 'objectid' => 5, 'crud' => 'c', 'edulevel' => 0,
            'contextid' => 18, 'contextlevel' => 50, 'contextinstanceid' => 2, 'userid' => 2, 'courseid' => 2,
            'relateduserid' => 4, 'anonymous' => 0, 'other' => ['id' => 9, 'component' => '', 'itemid' => 0],
            'timecreated' => 1754164724];
        $anonymous = $fixtures['\mod_quiz\event\attempt_submitted'];
        $anonymous['anonymous'] = 1;

        foreach ($fixtures as $row) {
            $this->trigger($row);
        }
        $this->trigger($report);
        $this->trigger($roleassigned);
        $this->trigger($anonymous);

        $names = array_column($this->outbox(), 'eventname');
        $this->assertSame([
            '\mod_page\event\course_module_viewed',
            '\mod_quiz\event\attempt_submitted',
            '\core\event\user_graded',
            '\core\event\course_module_completion_updated',
            '\core\event\user_enrolment_created',
            '\core\event\user_created',
            '\mod_assign\event\assessable_submitted',
            '\core\event\role_assigned',
        ], $names, 'participating, outcome, role and account events; no teaching-level report view, no anonymous event');
    }

    public function test_userevents_and_all_modes(): void {
        set_config('events', 'userevents', 'local_ferry');
        foreach ($this->fixtures() as $row) {
            $this->trigger($row);
        }
        $this->assertSame(
            ['\core\event\user_graded', '\core\event\user_enrolment_created', '\core\event\user_created'],
            array_column($this->outbox(), 'eventname')
        );

        standin::reset();
        standin::add_cm(2, 3, 14, 'page', 1, 'Welcome page');
        set_config('url', $this->receiver_url(), 'local_ferry');
        set_config('events', 'all', 'local_ferry');
        $this->trigger(['eventname' => '\gradereport_user\event\grade_report_viewed', 'edulevel' => 1, 'userid' => 4,
            'courseid' => 2, 'contextlevel' => 50, 'contextinstanceid' => 2, 'anonymous' => 0, 'timecreated' => 1]);
        $this->assertCount(1, $this->outbox());
        // Not even in "all" mode: our own blocked deliveries trigger it.
        $this->trigger(['eventname' => '\core\event\url_blocked', 'edulevel' => 0, 'userid' => 0, 'courseid' => 0,
            'contextlevel' => 10, 'contextinstanceid' => 0, 'anonymous' => 0, 'timecreated' => 1,
            'other' => ['url' => 'http://127.0.0.1:8000/webhook/moodle-events', 'reason' => 'The URL is blocked.']]);
        $this->assertCount(1, $this->outbox());
    }

    public function test_staff_are_skipped_by_default(): void {
        $fixtures = $this->fixtures();
        standin::make_siteadmin(2);
        standin::grant(7, 2);

        // The fixtures' page view is by user 2, the site admin.
        $this->trigger($fixtures['\mod_page\event\course_module_viewed']);
        // A teacher (can manage activities in course 2) submitting a quiz preview.
        $teacherquiz = $fixtures['\mod_quiz\event\attempt_submitted'];
        $teacherquiz['userid'] = 7;
        $teacherquiz['relateduserid'] = 7;
        $this->trigger($teacherquiz);
        $this->assertCount(0, $this->outbox(), 'admin and teacher activity is not recorded');

        // The teacher grading a student: the grade is the student's outcome, so it is sent.
        $graded = $fixtures['\core\event\user_graded'];
        $graded['userid'] = 7;
        $this->trigger($graded);
        // The admin enrolling and creating users: always sent, ferry needs them.
        $this->trigger($fixtures['\core\event\user_enrolment_created']);
        $this->trigger($fixtures['\core\event\user_created']);
        // A student's own activity.
        $this->trigger($fixtures['\mod_quiz\event\attempt_submitted']);

        $this->assertSame([
            '\core\event\user_graded',
            '\core\event\user_enrolment_created',
            '\core\event\user_created',
            '\mod_quiz\event\attempt_submitted',
        ], array_column($this->outbox(), 'eventname'));
    }

    public function test_staff_recorded_when_skipstaff_is_off(): void {
        standin::make_siteadmin(2);
        set_config('skipstaff', 0, 'local_ferry');
        $this->trigger($this->fixtures()['\mod_page\event\course_module_viewed']);
        $this->assertCount(1, $this->outbox());
    }

    public function test_grade_event_is_enriched_from_the_grade_object(): void {
        global $DB;
        $graded = $this->fixtures()['\core\event\user_graded'];
        $grade = (object)['id' => 43, 'itemid' => 11, 'userid' => 4, 'finalgrade' => '2.00000', 'feedback' => 'Good',
            'usermodified' => 4, 'timemodified' => 1754165235,
            'grade_item' => (object)['id' => 11, 'courseid' => 2, 'itemtype' => 'mod', 'itemmodule' => 'quiz',
                'iteminstance' => 1, 'itemname' => 'Quiz 1', 'grademax' => '10.00000']];
        $DB->calls = [];

        $this->trigger($graded, $grade);

        $this->assertSame(['insert_record' => 1], $DB->calls, 'grade data comes from the event, not from queries');
        $payload = json_decode($this->outbox()[0]->payload, true);
        $this->assertSame(11, $payload['gradeitem']);
        $this->assertSame(2.0, $payload['finalgrade']);
        $this->assertSame(10.0, $payload['grademax']);
        $this->assertSame(30, $payload['cmid']);
        $this->assertSame(15, $payload['sectionid']);
        $this->assertSame('quiz', $payload['modname']);
        $this->assertSame('Quiz 1', $payload['cmname']);
        $this->assertSame(['itemname' => 'Quiz 1', 'feedback' => 'Good', 'grader' => 4, 'timemodified' => 1754165235],
            $payload['_ferry']);
    }

    public function test_zero_grade_stays_zero(): void {
        $graded = $this->fixtures()['\core\event\user_graded'];
        $graded['other']['finalgrade'] = 0;
        $this->trigger($graded);
        $payload = json_decode($this->outbox()[0]->payload, true);
        $this->assertSame(0.0, $payload['finalgrade']);
        $this->assertNull($payload['grademax']);
    }

    public function test_completion_state_is_added(): void {
        $this->trigger($this->fixtures()['\core\event\course_module_completion_updated']);
        $payload = json_decode($this->outbox()[0]->payload, true);
        $this->assertSame(1, $payload['completionstate']);
        $this->assertSame(15, $payload['sectionid']);
        $this->assertSame('quiz', $payload['modname']);
    }

    public function test_completion_state_from_snapshot(): void {
        $completion = $this->fixtures()['\core\event\course_module_completion_updated'];
        unset($completion['other']['completionstate']);
        $event = standin::event($completion);
        $event->add_record_snapshot('course_modules_completion', (object)['id' => 5, 'completionstate' => '2']);
        observer::handle($event);
        $this->assertSame(2, json_decode($this->outbox()[0]->payload, true)['completionstate']);
    }

    public function test_login_as_keeps_realuserid_and_origin(): void {
        global $PAGE, $USER;
        \core\session\manager::$loggedinas = true;
        $USER = (object)['id' => 4, 'realuser' => 2];
        $PAGE->requestorigin = 'ws';
        $this->trigger($this->fixtures()['\mod_quiz\event\attempt_submitted']);
        $payload = json_decode($this->outbox()[0]->payload, true);
        $this->assertSame(2, $payload['realuserid']);
        $this->assertSame('ws', $payload['origin']);
    }

    public function test_unknown_course_or_module_still_recorded(): void {
        $page = $this->fixtures()['\mod_page\event\course_module_viewed'];
        $page['userid'] = 4;
        $page['courseid'] = 99;
        $this->trigger($page);
        $page['courseid'] = 2;
        $page['contextinstanceid'] = 999;
        $this->trigger($page);
        $rows = $this->outbox();
        $this->assertCount(2, $rows);
        $this->assertArrayNotHasKey('sectionid', json_decode($rows[0]->payload, true));
        $this->assertArrayNotHasKey('sectionid', json_decode($rows[1]->payload, true));
    }

    public function test_settings_and_roles_are_not_cached_in_a_long_lived_process(): void {
        // One process (cron --keep-alive) sees settings and roles change between events.
        $quiz = $this->fixtures()['\mod_quiz\event\attempt_submitted'];
        $this->trigger($quiz);
        $this->assertCount(1, $this->outbox());

        standin::grant(4, 2, 'moodle/grade:viewall');
        $this->trigger($quiz);
        $this->assertCount(1, $this->outbox(), 'now a (non-editing) teacher: skipped at once');

        set_config('skipstaff', 0, 'local_ferry');
        $this->trigger($quiz);
        $this->assertCount(2, $this->outbox(), 'the changed setting applies at once');

        set_config('url', '', 'local_ferry');
        $this->trigger($quiz);
        $this->assertCount(2, $this->outbox());
    }

    public function test_non_editing_teachers_are_staff(): void {
        $page = $this->fixtures()['\mod_page\event\course_module_viewed'];
        $page['userid'] = 7;
        standin::grant(7, 2, 'moodle/grade:viewall');
        $this->trigger($page);
        $this->assertSame([], $this->outbox());
        $this->assertSame(['moodle/course:manageactivities', 'moodle/grade:viewall'], observer::STAFF_CAPABILITIES);
    }

    public function test_adhoc_task_is_queued_again_in_a_long_lived_process(): void {
        $page = $this->fixtures()['\mod_page\event\course_module_viewed'];
        $page['userid'] = 4;
        $this->trigger($page);
        $this->assertSame(1, \core\task\manager::$queuecalls);
        // Ten seconds later in the same process (the task ran meanwhile and left the queue).
        \core\task\manager::$queued = [];
        $queuedat = new \ReflectionProperty(observer::class, 'queuedat');
        $queuedat->setAccessible(true);
        $queuedat->setValue(null, time() - observer::QUEUE_INTERVAL);
        $this->trigger($page);
        $this->assertSame(2, \core\task\manager::$queuecalls);
        $this->assertCount(1, \core\task\manager::$queued);
    }

    /**
     * get_data() of \core\event\user_deleted as delete_user() triggers it (admin 2 deletes user 4).
     *
     * @return array
     */
    public static function user_deleted_data(): array {
        return ['eventname' => '\core\event\user_deleted', 'component' => 'core', 'action' => 'deleted',
            'target' => 'user', 'objecttable' => 'user', 'objectid' => 4, 'crud' => 'd', 'edulevel' => 0,
            'contextid' => 25, 'contextlevel' => 30, 'contextinstanceid' => 4, 'userid' => 2, 'courseid' => 0,
            'relateduserid' => 4, 'anonymous' => 0, 'timecreated' => 1754170000,
            'other' => ['username' => 'ana', 'email' => 'ana@example.org', 'idnumber' => 'S-3', 'picture' => 0,
                'mnethostid' => 1]];
    }

    /**
     * get_data() of \core\event\user_enrolment_deleted (admin 2 unenrols user 4 from course 2).
     *
     * @return array
     */
    public static function unenrolment_data(): array {
        return ['eventname' => '\core\event\user_enrolment_deleted', 'component' => 'core', 'action' => 'deleted',
            'target' => 'user_enrolment', 'objecttable' => 'user_enrolments', 'objectid' => 5, 'crud' => 'd',
            'edulevel' => 0, 'contextid' => 18, 'contextlevel' => 50, 'contextinstanceid' => 2, 'userid' => 2,
            'courseid' => 2, 'relateduserid' => 4, 'anonymous' => 0, 'timecreated' => 1754170100,
            'other' => ['userenrolment' => ['id' => 5, 'enrolid' => 1, 'userid' => 4, 'status' => 0,
                'lastenrol' => true], 'enrol' => 'manual']];
    }

    public function test_deletion_events_are_sent_in_every_mode_with_ids_only(): void {
        standin::make_siteadmin(2);
        foreach (['learning', 'userevents', 'all'] as $mode) {
            $this->setUp();
            standin::make_siteadmin(2);
            set_config('events', $mode, 'local_ferry');
            $this->trigger(self::user_deleted_data());
            $this->trigger(self::unenrolment_data());
            $rows = $this->outbox();
            $this->assertCount(2, $rows, "mode $mode; done by an admin, never skipped as staff");

            $deleted = json_decode($rows[0]->payload, true);
            $this->assertSame('\core\event\user_deleted', $deleted['eventname']);
            $this->assertSame(4, $deleted['relateduserid']);
            $this->assertSame(4, $deleted['objectid']);
            $this->assertNull($deleted['other'], 'no username, email or idnumber of the deleted user');
            $this->assertStringNotContainsString('ana', $rows[0]->payload);
            $this->assertSame(array_merge(observer::DELETION_FIELDS, ['other']), array_keys($deleted));

            $unenrolled = json_decode($rows[1]->payload, true);
            $this->assertSame(['\core\event\user_enrolment_deleted', 5, 4, 2], [$unenrolled['eventname'],
                $unenrolled['objectid'], $unenrolled['relateduserid'], $unenrolled['courseid']]);
            $this->assertNull($unenrolled['other']);
            $this->assertSame('18', $rows[1]->contextid);
        }
    }

    public function test_the_observer_never_throws(): void {
        // has_any_capability() failing with an \Error (the event manager catches only \Exception).
        $page = $this->fixtures()['\mod_page\event\course_module_viewed'];
        $page['userid'] = 4;
        $page['courseid'] = 'not a number';
        $event = new class extends \moodle_standin\event {
            /**
             * Data that breaks the observer.
             *
             * @return array
             */
            public function get_data() {
                throw new \Error('broken event');
            }
        };
        observer::handle($event);
        $this->assertSame([], $this->outbox());
        $this->assertStringContainsString('broken event', end(standin::$debugging));
    }

    public function test_unencodable_values_are_replaced_instead_of_losing_the_event(): void {
        $page = $this->fixtures()['\mod_page\event\course_module_viewed'];
        $page['userid'] = 4;
        $page['other'] = ['ratio' => NAN, 'ok' => 1];
        $this->trigger($page);
        $rows = $this->outbox();
        $this->assertCount(1, $rows);
        $payload = json_decode($rows[0]->payload, true);
        $this->assertNotNull($payload, 'valid JSON');
        $this->assertSame(['ratio' => 0, 'ok' => 1], $payload['other']);
        $this->assertStringContainsString('not fully encodable', end(standin::$debugging));
    }
}
