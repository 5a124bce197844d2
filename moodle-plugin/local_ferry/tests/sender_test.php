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
 * Sender and task tests in a real Moodle site: an outage never fails the task.
 *
 * @package    local_ferry
 * @category   test
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \local_ferry\sender
 * @covers     \local_ferry\task\send_outbox
 */
final class sender_test extends \advanced_testcase {
    public function test_unreachable_ferry_keeps_rows_and_the_task_completes(): void {
        global $DB;
        $this->resetAfterTest();
        // Port 1 on loopback: refused, or blocked by the HTTP security defaults. Either way transient.
        set_config('url', 'http://127.0.0.1:1', 'local_ferry');
        $this->getDataGenerator()->create_user();
        $this->assertSame(1, $DB->count_records(observer::TABLE, ['parked' => 0]));

        ob_start();
        (new task\send_outbox())->execute();
        $log = ob_get_clean();

        $row = $DB->get_record(observer::TABLE, ['parked' => 0], '*', MUST_EXIST);
        $this->assertEquals(1, $row->attempts);
        $this->assertGreaterThan(time(), (int)$row->nextattempt);
        $this->assertNotEmpty($row->lasterror);
        $this->assertStringContainsString('kept for retry', $log);
        $this->assertNotEmpty(get_config('local_ferry', 'failingsince'));
    }

    public function test_per_log_key_is_stable_and_unique(): void {
        $this->resetAfterTest();
        $a = (object)['id' => 1, 'timecreated' => 100, 'eventname' => 'x', 'userid' => 0, 'payload' => '{}'];
        $b = (object)['id' => 2, 'timecreated' => 100, 'eventname' => 'x', 'userid' => 0, 'payload' => '{}'];
        $this->assertSame(payloads::batch_log($a)->idempotency_key, payloads::batch_log($a)->idempotency_key);
        $this->assertNotSame(payloads::batch_log($a)->idempotency_key, payloads::batch_log($b)->idempotency_key);
    }

    public function test_curl_options_verify_tls_and_follow_no_redirect(): void {
        $options = transport::curl_options(10);
        $this->assertSame(1, $options['CURLOPT_SSL_VERIFYPEER']);
        $this->assertSame(2, $options['CURLOPT_SSL_VERIFYHOST']);
        $this->assertSame(0, $options['CURLOPT_FOLLOWLOCATION']);
    }
}
