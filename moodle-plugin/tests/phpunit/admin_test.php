<?php
// PHPUnit tests of local_ferry's admin tooling: outbox report data and actions, the status check,
// the retention cap and the admin notification, against the moodle_standin (NOT Moodle).
// @license GNU GPL v3 or later

namespace local_ferry\tests;

use core\check\result;
use local_ferry\check\delivery;
use local_ferry\local\report_actions;
use local_ferry\monitor;
use local_ferry\outbox;
use local_ferry\sender;
use moodle_standin\standin;

/**
 * Admin tooling.
 *
 * @covers \local_ferry\outbox
 * @covers \local_ferry\local\report_actions
 * @covers \local_ferry\check\delivery
 * @covers \local_ferry\monitor
 */
class admin_test extends ferry_testcase {
    /** Fixed clock. */
    const NOW = 1765000000;

    /**
     * Adds n waiting rows created at $time, and m parked rows.
     *
     * @param int $n
     * @param int $time
     * @param int $parked
     * @return void
     */
    protected function fill(int $n, int $time, int $parked = 0): void {
        for ($i = 0; $i < $n + $parked; $i++) {
            $this->add_row(['eventname' => '\core\event\course_viewed', 'userid' => 4, 'courseid' => 2, 'timecreated' => $time],
                ['timecreated' => $time + $i, 'parked' => $i >= $n ? 1 : 0, 'lasterror' => $i >= $n ? 'HTTP 422: bad' : null]);
        }
    }

    /**
     * Logs in as a site admin and posts the session key, as the report page's buttons do.
     *
     * @return void
     */
    protected function as_admin_posting(): void {
        global $USER;
        standin::make_siteadmin(2);
        $USER = (object)['id' => 2];
        $_POST['sesskey'] = sesskey();
    }

    public function test_summary_and_parked_rows(): void {
        $this->fill(3, self::NOW - 600, 2);
        $s = outbox::summary(self::NOW);
        $this->assertSame([3, 2, self::NOW - 600, 600], [$s->pending, $s->parked, $s->oldest, $s->oldestage]);
        $parked = outbox::parked();
        $this->assertCount(2, $parked);
        $this->assertSame('HTTP 422: bad', $parked[0]->lasterror);
    }

    public function test_actions_need_the_session_key_and_the_capability(): void {
        global $USER;
        $this->fill(0, self::NOW, 2);
        // No session key (a link in an email, a forged form): refused, nothing changed.
        standin::make_siteadmin(2);
        $USER = (object)['id' => 2];
        try {
            report_actions::run('purge');
            $this->fail('purge without sesskey');
        } catch (\moodle_exception $e) {
            $this->assertSame('invalidsesskey', $e->errorcode);
        }
        // A session key but no capability.
        $USER = (object)['id' => 4];
        $_POST['sesskey'] = sesskey();
        try {
            report_actions::run('purge');
            $this->fail('purge without moodle/site:config');
        } catch (\required_capability_exception $e) {
            $this->assertSame('nopermissions', $e->errorcode);
        }
        $this->assertCount(2, $this->outbox());
        $this->expectException(\moodle_exception::class);
        $this->as_admin_posting();
        report_actions::run('drop');
    }

    public function test_resend_and_purge_parked_rows(): void {
        $this->fill(1, self::NOW, 3);
        $this->as_admin_posting();
        $ids = array_column(outbox::parked(), 'id');

        $this->assertSame(1, report_actions::run('resend', (int)$ids[0]));
        $this->assertCount(2, outbox::parked());
        $row = $this->outbox()[1];
        $this->assertSame(['0', '0', '0'], [$row->parked, $row->attempts, $row->nextattempt]);

        $this->assertSame(1, report_actions::run('purge', (int)$ids[1]));
        $this->assertSame(1, report_actions::run('resend'));
        $this->assertSame([], outbox::parked());
        $this->assertCount(3, $this->outbox());

        // The resent rows really go out.
        $this->assertSame(3, (new sender())->flush(self::NOW)['sent']);
    }

    public function test_retry_now_skips_the_backoff(): void {
        $this->fill(2, self::NOW);
        $this->respond(['*' => [503]]);
        (new sender())->flush(self::NOW);
        $this->assertTrue((new sender())->flush(self::NOW + 1)['waiting']);
        $this->as_admin_posting();
        $this->assertSame(2, report_actions::run('retrynow'));
        $this->respond(['*' => [202]]);
        $this->assertSame(2, (new sender())->flush(self::NOW + 1)['sent']);
    }

    public function test_retention_cap_and_parked_retention(): void {
        set_config('maxrows', 10000, 'local_ferry');
        $this->fill(10003, self::NOW);
        $this->fill(0, self::NOW - 40 * 86400, 2);

        $this->assertSame(2 + 3, outbox::enforce_retention(self::NOW));
        $this->assertSame(10000, outbox::summary(self::NOW)->pending);
        $this->assertSame(0, outbox::summary(self::NOW)->parked, 'parked rows older than 30 days are gone');
        $this->assertSame(self::NOW + 3, outbox::summary(self::NOW)->oldest, 'the oldest rows were dropped');
        $this->assertSame(['3', (string)self::NOW], [get_config('local_ferry', 'droppedrows'),
            get_config('local_ferry', 'droppedat')]);
        $this->assertSame(0, outbox::enforce_retention(self::NOW), 'nothing more to drop');
    }

    public function test_scheduled_task_applies_the_retention_cap(): void {
        set_config('maxrows', 10000, 'local_ferry');
        set_config('url', 'http://127.0.0.1:' . self::free_port(), 'local_ferry');
        $this->fill(10001, time());
        (new \local_ferry\task\flush_outbox())->execute();
        $this->assertSame('local_ferry: retention removed 1 events from the outbox', standin::$mtrace[0]);
        $this->assertSame(10000, outbox::summary(time())->pending);
    }

    public function test_check_status(): void {
        $this->assertSame(result::OK, delivery::evaluate(self::NOW)->get_status());

        $this->fill(1, self::NOW - 60);
        $this->assertSame(result::OK, delivery::evaluate(self::NOW)->get_status(), 'a minute old: normal');
        $this->assertSame(result::WARNING, delivery::evaluate(self::NOW + 900)->get_status(), '15 minutes: warning');
        $critical = delivery::evaluate(self::NOW + 6 * 3600);
        $this->assertSame(result::CRITICAL, $critical->get_status());
        $this->assertStringContainsString('1 events waiting for ferry', $critical->get_summary());

        set_config('backlogwarning', 3600, 'local_ferry');
        $this->assertSame(result::OK, delivery::evaluate(self::NOW + 900)->get_status(), 'the threshold is a setting');

        $this->fill(0, self::NOW, 1);
        $this->assertSame(result::WARNING, delivery::evaluate(self::NOW)->get_status(), 'a parked row warns');
        $this->fill(0, self::NOW, 99);
        $this->assertSame(result::CRITICAL, delivery::evaluate(self::NOW)->get_status(), '100 parked rows: critical');
        $this->assertStringContainsString('; 100 parked.', delivery::evaluate(self::NOW)->get_summary());

        set_config('url', '', 'local_ferry');
        $this->assertSame(result::NA, delivery::evaluate(self::NOW)->get_status());
        $this->assertInstanceOf(\action_link::class, (new delivery())->get_action_link());
    }

    public function test_admins_are_notified_once_when_delivery_fails_longer_than_the_threshold(): void {
        standin::make_siteadmin(2);
        standin::make_siteadmin(7);
        set_config('url', 'http://127.0.0.1:' . self::free_port(), 'local_ferry');
        $this->fill(1, self::NOW);

        (new sender())->flush(self::NOW);
        $this->assertSame((string)self::NOW, get_config('local_ferry', 'failingsince'));
        $this->assertSame([], standin::$messages, 'not yet: one failure is not an outage');

        // Past the backoff, still failing, less than an hour: no message.
        outbox::retry_now();
        (new sender())->flush(self::NOW + 1800);
        $this->assertSame([], standin::$messages);

        // An hour after the first failure: each admin gets one message.
        outbox::retry_now();
        (new sender())->flush(self::NOW + monitor::DEFAULT_NOTIFY_AFTER);
        $this->assertCount(2, standin::$messages);
        $message = standin::$messages[0];
        $this->assertSame(['local_ferry', 'deliveryfailing', 2], [$message->component, $message->name,
            $message->userto->id]);
        $this->assertStringContainsString('cURL error 7', $message->fullmessage);
        $this->assertStringContainsString('/local/ferry/report.php', $message->contexturl);

        // Still failing: no second message for the same outage.
        outbox::retry_now();
        (new sender())->flush(self::NOW + 7200);
        $this->assertCount(2, standin::$messages);

        // Ferry back: the streak ends; a later outage is notified again.
        set_config('url', $this->receiver_url(), 'local_ferry');
        outbox::retry_now();
        $this->assertSame(1, (new sender())->flush(self::NOW + 7300)['sent']);
        $this->assertFalse(get_config('local_ferry', 'failingsince'));
        $this->assertFalse(get_config('local_ferry', 'notifiedat'));
    }

    public function test_notification_can_be_turned_off(): void {
        standin::make_siteadmin(2);
        set_config('notifyafter', 0, 'local_ferry');
        $this->assertFalse((new monitor())->after_flush(['batches' => 0, 'transient' => true, 'error' => 'x'], self::NOW));
        $this->assertFalse((new monitor())->after_flush(['batches' => 0, 'transient' => true, 'error' => 'x'],
            self::NOW + 86400));
        $this->assertSame([], standin::$messages);
    }
}
