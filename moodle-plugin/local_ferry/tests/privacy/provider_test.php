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
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;
use local_ferry\observer;

/**
 * Privacy provider tests in a real Moodle site.
 *
 * @package    local_ferry
 * @category   test
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \local_ferry\privacy\provider
 */
final class provider_test extends \core_privacy\tests\provider_testcase {
    /** @var \stdClass */
    protected $course;
    /** @var \stdClass */
    protected $student;
    /** @var \stdClass */
    protected $other;

    /**
     * A course with two students, each with a recorded course view.
     *
     * @return void
     */
    protected function setUp(): void {
        parent::setUp();
        $this->resetAfterTest();
        set_config('url', 'https://ferry.example.org', 'local_ferry');
        $this->course = $this->getDataGenerator()->create_course();
        $this->student = $this->getDataGenerator()->create_and_enrol($this->course, 'student');
        $this->other = $this->getDataGenerator()->create_and_enrol($this->course, 'student');
        foreach ([$this->student, $this->other] as $user) {
            $this->setUser($user);
            \core\event\course_viewed::create(['context' => \context_course::instance($this->course->id)])->trigger();
        }
        $this->setUser();
    }

    public function test_get_metadata_lists_every_field_sent(): void {
        $items = provider::get_metadata(new collection('local_ferry'))->get_collection();
        $this->assertCount(2, $items);
        $this->assertEqualsCanonicalizing(provider::FERRY_FIELDS, array_keys($items[1]->get_privacy_fields()));
    }

    public function test_contexts_users_export_and_delete(): void {
        global $DB;
        $coursecontext = \context_course::instance($this->course->id);
        $this->assertContains((int)$coursecontext->id, array_map(
            'intval',
            provider::get_contexts_for_userid($this->student->id)->get_contextids()
        ));

        $userlist = new userlist($coursecontext, 'local_ferry');
        provider::get_users_in_context($userlist);
        $this->assertEqualsCanonicalizing([$this->student->id, $this->other->id], $userlist->get_userids());

        $contextlist = new approved_contextlist($this->student, 'local_ferry', [$coursecontext->id]);
        provider::export_user_data($contextlist);
        $this->assertTrue(writer::with_context($coursecontext)->has_any_data());

        provider::delete_data_for_user($contextlist);
        $this->assertSame(0, $DB->count_records_select(
            observer::TABLE,
            'contextid = ? AND (userid = ? OR relateduserid = ?)',
            [$coursecontext->id, $this->student->id, $this->student->id]
        ));
        $this->assertTrue($DB->record_exists(observer::TABLE, ['contextid' => $coursecontext->id,
            'userid' => $this->other->id]), 'the other student\'s rows stay');

        provider::delete_data_for_users(new approved_userlist($coursecontext, 'local_ferry', [$this->other->id]));
        $this->assertFalse($DB->record_exists(observer::TABLE, ['contextid' => $coursecontext->id,
            'userid' => $this->other->id]));
    }

    public function test_delete_data_for_all_users_in_context(): void {
        global $DB;
        $coursecontext = \context_course::instance($this->course->id);
        provider::delete_data_for_all_users_in_context($coursecontext);
        $this->assertSame(0, $DB->count_records(observer::TABLE, ['contextid' => $coursecontext->id]));
    }
}
