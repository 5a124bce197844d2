<?php
// PHPUnit tests of \local_ferry\privacy\provider, against the moodle_standin (NOT Moodle).
// @license GNU GPL v3 or later

namespace local_ferry\tests;

use core_privacy\local\metadata\collection;
use core_privacy\local\request\approved_contextlist;
use core_privacy\local\request\approved_userlist;
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;
use local_ferry\privacy\provider;
use local_ferry\sender;

/**
 * Privacy provider: complete external-location metadata, rows per event context (as tool_log),
 * streamed export, deletion that never removes another user's data.
 *
 * @covers \local_ferry\privacy\provider
 */
class privacy_test extends ferry_testcase {
    /** @var int[] outbox ids: enrol (admin 2 enrols 4), quiz (4), page (5), grade4 (3 grades 4), grade5 (3 grades 5) */
    protected $ids = [];

    /**
     * Contexts 18 (course 2), 48 (the quiz), 90 (a page) and five outbox rows.
     *
     * @return void
     */
    protected function setUp(): void {
        global $DB;
        parent::setUp();
        $DB->pdo->exec('INSERT INTO context (id, contextlevel, instanceid) VALUES (18, 50, 2), (48, 70, 30), (90, 70, 3)');
        foreach ([[1, 'guest'], [2, 'admin'], [3, 'ben'], [4, 'ana'], [5, 'eve']] as [$id, $name]) {
            $DB->pdo->prepare('INSERT INTO "user" (id, username, firstname, lastname, email, timecreated) VALUES
                (?, ?, ?, ?, ?, 1)')->execute([$id, $name, ucfirst($name), 'X', "$name@example.org"]);
        }
        $fixtures = $this->fixtures();
        $graded = $fixtures['\core\event\user_graded'];
        $graded['userid'] = 3;
        $graded['_ferry'] = ['grader' => 3, 'itemname' => 'Quiz 1'];
        $this->ids = [
            'enrol' => $this->add_row($fixtures['\core\event\user_enrolment_created']),
            'quiz' => $this->add_row($fixtures['\mod_quiz\event\attempt_submitted']),
            'page' => $this->add_row(['eventname' => '\mod_page\event\course_module_viewed', 'userid' => 5,
                'courseid' => 2, 'contextid' => 90]),
            'grade4' => $this->add_row($graded),
            'grade5' => $this->add_row(['relateduserid' => 5] + $graded),
        ];
    }

    /**
     * Outbox rows by id.
     *
     * @return array
     */
    protected function rows(): array {
        $byid = [];
        foreach ($this->outbox() as $row) {
            $byid[(int)$row->id] = $row;
        }
        return $byid;
    }

    /**
     * The external location's declared fields.
     *
     * @return array
     */
    protected function ferry_fields(): array {
        foreach (provider::get_metadata(new collection('local_ferry'))->get_collection() as $item) {
            if ($item->name === 'ferry') {
                return $item->fields;
            }
        }
        return [];
    }

    public function test_implements_the_privacy_interfaces(): void {
        $interfaces = class_implements(provider::class);
        $this->assertContains('core_privacy\local\metadata\provider', $interfaces);
        $this->assertContains('core_privacy\local\request\plugin\provider', $interfaces);
        $this->assertContains('core_privacy\local\request\core_userlist_provider', $interfaces);
    }

    public function test_metadata_strings_exist(): void {
        $items = provider::get_metadata(new collection('local_ferry'))->get_collection();
        $this->assertSame(['local_ferry_outbox', 'ferry'], array_map(fn($i) => $i->name, $items));
        $this->assertSame('external_location', $items[1]->type);
        foreach ($items as $item) {
            $this->assertNotSame('', get_string($item->summary, 'local_ferry'));
            foreach ($item->fields as $stringid) {
                $this->assertNotSame('', get_string($stringid, 'local_ferry'));
            }
        }
        foreach (['username', 'firstname', 'lastname', 'email', 'idnumber', 'phone1', 'city', 'country', 'feedback',
                'finalgrade', 'grademax', 'userid', 'relateduserid'] as $field) {
            $this->assertArrayHasKey($field, $this->ferry_fields(), "$field is sent, so it is declared");
        }
    }

    public function test_metadata_declares_every_field_that_is_actually_sent(): void {
        global $DB;
        // Every kind of row the plugin sends, through the real sender to the receiver.
        $DB->insert_record('enrol', ['enrol' => 'manual', 'courseid' => 2, 'roleid' => 5]);
        $DB->pdo->exec('INSERT INTO user_enrolments (id, enrolid, userid, timecreated) VALUES (5, 1, 4, 1)');
        \moodle_standin\standin::add_cm(2, 30, 15, 'quiz', 1, 'Quiz 1');
        \moodle_standin\standin::add_cm(2, 21, 15, 'assign', 1, 'Essay');
        $DB->delete_records('local_ferry_outbox');
        $grade = (object)['id' => 43, 'itemid' => 11, 'userid' => 4, 'finalgrade' => 2.0, 'feedback' => 'Good',
            'usermodified' => 4, 'timemodified' => 1, 'grade_item' => (object)['itemtype' => 'mod',
            'itemmodule' => 'quiz', 'iteminstance' => 1, 'itemname' => 'Quiz 1', 'grademax' => 10.0]];
        $events = $this->fixtures();
        $events['\core\event\user_updated'] = ['eventname' => '\core\event\user_updated', 'objectid' => 4,
            'relateduserid' => 4] + $events['\core\event\user_created'];
        $events['\core\event\user_deleted'] = observer_test::user_deleted_data();
        $events['\core\event\user_enrolment_deleted'] = observer_test::unenrolment_data();
        set_config('skipstaff', 0, 'local_ferry');
        foreach ($events as $name => $data) {
            \local_ferry\observer::handle(\moodle_standin\standin::event($data, $name === '\core\event\user_graded' ? $grade : null));
        }
        $this->respond(['/webhook/moodle-events' => [202], '*' => [200]]);
        $this->assertSame(count($events), (new sender())->flush(1765000000)['sent']);

        $sent = [];
        foreach ($this->requests() as $request) {
            $body = json_decode($request['body'], true);
            foreach (isset($body['logs']) ? $body['logs'] : [$body] as $item) {
                $sent = array_merge($sent, array_keys($item));
            }
        }
        $sent = array_unique($sent);
        sort($sent);
        $this->assertContains('email', $sent, 'the run covered the per-type user payload');
        $this->assertContains('feedback', $sent, 'and the grade payload');
        $this->assertSame([], array_values(array_diff($sent, array_keys($this->ferry_fields()))),
            'fields sent to ferry but missing from the privacy metadata');
    }

    public function test_contexts_for_userid_are_the_event_contexts(): void {
        $ids = fn($userid) => provider::get_contexts_for_userid($userid)->get_contextids();
        $this->assertEqualsCanonicalizing([18, 48], $ids(4), 'enrolled and graded in the course, submitted the quiz');
        $this->assertEqualsCanonicalizing([18], $ids(3));
        $this->assertEqualsCanonicalizing([18, 90], $ids(5));
        $this->assertSame([], $ids(6));
    }

    public function test_users_in_context(): void {
        $userlist = new userlist(\context::instance_by_id(18), 'local_ferry');
        provider::get_users_in_context($userlist);
        $this->assertEqualsCanonicalizing([2, 3, 4, 5], $userlist->get_userids());

        $userlist = new userlist(\context::instance_by_id(90), 'local_ferry');
        provider::get_users_in_context($userlist);
        $this->assertSame([5], $userlist->get_userids());
    }

    public function test_export_is_per_context_and_streamed(): void {
        global $DB;
        $DB->calls = [];
        provider::export_user_data(new approved_contextlist((object)['id' => 4], 'local_ferry', [18, 48]));
        $path = get_string('privacy:path:outbox', 'local_ferry');
        $this->assertSame(['\core\event\user_enrolment_created', '\core\event\user_graded'],
            array_column(writer::$exported[18][$path]->events, 'eventname'));
        $this->assertSame(['\mod_quiz\event\attempt_submitted'], array_column(writer::$exported[48][$path]->events, 'eventname'));
        $this->assertSame(2, $DB->calls['get_recordset_sql'], 'one recordset per context');
        $this->assertArrayNotHasKey('get_records_select', $DB->calls);
    }

    public function test_deleting_a_teacher_keeps_the_students_grades_without_the_teacher(): void {
        provider::delete_data_for_user(new approved_contextlist((object)['id' => 3], 'local_ferry', [18]));
        $rows = $this->rows();
        $this->assertCount(5, $rows, 'no row about another user is deleted');
        foreach (['grade4', 'grade5'] as $key) {
            $row = $rows[$this->ids[$key]];
            $this->assertSame('0', $row->userid);
            $payload = json_decode($row->payload, true);
            $this->assertSame(0, $payload['userid']);
            $this->assertSame(0, $payload['_ferry']['grader']);
            $this->assertSame('Quiz 1', $payload['_ferry']['itemname']);
        }
    }

    public function test_deleting_a_student_removes_the_rows_about_them_only(): void {
        provider::delete_data_for_user(new approved_contextlist((object)['id' => 4], 'local_ferry', [18, 48]));
        $this->assertEqualsCanonicalizing([$this->ids['page'], $this->ids['grade5']], array_keys($this->rows()));
    }

    public function test_delete_data_for_users(): void {
        provider::delete_data_for_users(new approved_userlist(\context::instance_by_id(18), 'local_ferry', [3, 5]));
        $rows = $this->rows();
        $this->assertArrayNotHasKey($this->ids['grade5'], $rows, 'the grade about user 5');
        $this->assertSame('0', $rows[$this->ids['grade4']]->userid, 'user 4\'s grade stays, without teacher 3');
        $this->assertArrayHasKey($this->ids['page'], $rows, 'user 5\'s page view is in another context');
        $this->assertCount(4, $rows);
    }

    public function test_delete_data_for_all_users_in_context(): void {
        provider::delete_data_for_all_users_in_context(\context::instance_by_id(18));
        $this->assertEqualsCanonicalizing([$this->ids['quiz'], $this->ids['page']], array_keys($this->rows()));
    }
}
