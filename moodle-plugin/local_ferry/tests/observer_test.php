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
 * Observer tests in a real Moodle site (Moodle's PHPUnit: vendor/bin/phpunit --testsuite local_ferry_testsuite).
 *
 * @package    local_ferry
 * @category   test
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \local_ferry\observer
 */
final class observer_test extends \advanced_testcase {
    /**
     * The plugin configured, the outbox empty.
     *
     * @return void
     */
    protected function setUp(): void {
        parent::setUp();
        $this->resetAfterTest();
        set_config('url', 'https://ferry.example.org', 'local_ferry');
        set_config('events', 'learning', 'local_ferry');
        set_config('skipstaff', 1, 'local_ferry');
    }

    /**
     * Outbox rows, oldest first.
     *
     * @param string $eventname
     * @return \stdClass[]
     */
    protected function rows(string $eventname): array {
        global $DB;
        return array_values($DB->get_records(observer::TABLE, ['eventname' => $eventname], 'id ASC'));
    }

    public function test_activity_view_is_recorded_with_modinfo_and_without_ip(): void {
        $course = $this->getDataGenerator()->create_course();
        $page = $this->getDataGenerator()->create_module('page', ['course' => $course->id, 'name' => 'Welcome']);
        $student = $this->getDataGenerator()->create_and_enrol($course, 'student');
        $this->setUser($student);

        $cm = get_coursemodule_from_instance('page', $page->id);
        \mod_page\event\course_module_viewed::create([
            'objectid' => $page->id,
            'context' => \context_module::instance($cm->id),
        ])->trigger();

        $rows = $this->rows('\mod_page\event\course_module_viewed');
        $this->assertCount(1, $rows);
        $payload = json_decode($rows[0]->payload, true);
        $this->assertSame('page', $payload['modname']);
        $this->assertSame('Welcome', $payload['cmname']);
        $this->assertArrayNotHasKey('ip', $payload);
        $this->assertEquals(\context_module::instance($cm->id)->id, $rows[0]->contextid);
    }

    public function test_non_editing_teacher_activity_is_skipped(): void {
        $course = $this->getDataGenerator()->create_course();
        $page = $this->getDataGenerator()->create_module('page', ['course' => $course->id]);
        $teacher = $this->getDataGenerator()->create_and_enrol($course, 'teacher');
        $this->setUser($teacher);
        $cm = get_coursemodule_from_instance('page', $page->id);
        \mod_page\event\course_module_viewed::create([
            'objectid' => $page->id,
            'context' => \context_module::instance($cm->id),
        ])->trigger();
        $this->assertSame([], $this->rows('\mod_page\event\course_module_viewed'));
    }

    public function test_user_deletion_is_recorded_with_ids_only(): void {
        $this->setAdminUser();
        $user = $this->getDataGenerator()->create_user(['email' => 'gone@example.org', 'username' => 'gone']);
        delete_user($user);

        $rows = $this->rows('\core\event\user_deleted');
        $this->assertCount(1, $rows);
        $payload = json_decode($rows[0]->payload, true);
        $this->assertEquals($user->id, $payload['relateduserid']);
        $this->assertEquals($user->id, $payload['objectid']);
        $this->assertNull($payload['other']);
        $this->assertStringNotContainsString('gone', $rows[0]->payload);
    }

    public function test_unenrolment_is_recorded(): void {
        global $DB;
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        $student = $this->getDataGenerator()->create_and_enrol($course, 'student');
        $instance = $DB->get_record('enrol', ['courseid' => $course->id, 'enrol' => 'manual'], '*', MUST_EXIST);
        $ueid = $DB->get_field('user_enrolments', 'id', ['enrolid' => $instance->id, 'userid' => $student->id]);
        enrol_get_plugin('manual')->unenrol_user($instance, $student->id);

        $rows = $this->rows('\core\event\user_enrolment_deleted');
        $this->assertCount(1, $rows);
        $payload = json_decode($rows[0]->payload, true);
        $this->assertEquals([$ueid, $student->id, $course->id], [$payload['objectid'], $payload['relateduserid'],
            $payload['courseid']]);
        $this->assertNull($payload['other']);
    }

    public function test_nothing_is_recorded_without_a_url(): void {
        global $DB;
        set_config('url', '', 'local_ferry');
        $this->getDataGenerator()->create_user();
        $this->assertSame(0, $DB->count_records(observer::TABLE));
    }
}
