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

use core\check\result;

/**
 * Status check, outbox report actions and retention in a real Moodle site.
 *
 * @package    local_ferry
 * @category   test
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \local_ferry\check\delivery
 * @covers     \local_ferry\outbox
 */
final class outbox_test extends \advanced_testcase {
    /**
     * Inserts an outbox row.
     *
     * @param int $timecreated
     * @param int $parked
     * @return int
     */
    protected function add_row(int $timecreated, int $parked = 0): int {
        global $DB;
        return $DB->insert_record(observer::TABLE, (object)['eventname' => '\core\event\course_viewed', 'userid' => 2,
            'relateduserid' => 0, 'contextid' => 1, 'payload' => '{}', 'timecreated' => $timecreated, 'attempts' => 0,
            'nextattempt' => 0, 'lasterror' => $parked ? 'HTTP 422' : null, 'parked' => $parked]);
    }

    public function test_check_turns_warning_then_critical_on_backlog_age(): void {
        $this->resetAfterTest();
        set_config('url', 'https://ferry.example.org', 'local_ferry');
        $now = time();
        $this->assertSame(result::OK, check\delivery::evaluate($now)->get_status());
        $this->add_row($now - 1000);
        $this->assertSame(result::WARNING, check\delivery::evaluate($now)->get_status());
        $this->assertSame(result::CRITICAL, check\delivery::evaluate($now + 7 * 3600)->get_status());
        $this->assertContains(
            \local_ferry\check\delivery::class,
            array_map('get_class', \core\check\manager::get_checks('status'))
        );
    }

    public function test_parked_rows_resend_purge_and_retention(): void {
        global $DB;
        $this->resetAfterTest();
        $id = $this->add_row(time(), 1);
        $this->add_row(time() - 40 * 86400, 1);
        $this->assertSame(1, outbox::enforce_retention(time()), 'the 40-day-old parked row');
        $this->assertSame(1, outbox::resend_parked($id));
        $this->assertEquals(0, $DB->get_field(observer::TABLE, 'parked', ['id' => $id]));
        $DB->set_field(observer::TABLE, 'parked', 1, ['id' => $id]);
        $this->assertSame(1, outbox::purge_parked());
        $this->assertSame(0, $DB->count_records(observer::TABLE));
    }
}
