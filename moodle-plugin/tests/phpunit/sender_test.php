<?php
// PHPUnit tests of \local_ferry\sender over real HTTP (a php -S receiver), against the
// moodle_standin (NOT Moodle).
// @license GNU GPL v3 or later

namespace local_ferry\tests;

use local_ferry\sender;

/**
 * Sender: 2xx deletes, 5xx/network keeps + backs off + throws, 4xx parks, oldest first, batch size,
 * per-type endpoints.
 *
 * @covers \local_ferry\sender
 */
class sender_test extends ferry_testcase {
    /** Fixed clock. */
    const NOW = 1765000000;

    /**
     * Rows for n page views of user 4, oldest first.
     *
     * @param int $n
     * @return int[] ids
     */
    protected function add_views(int $n): array {
        $page = $this->fixtures()['\mod_page\event\course_module_viewed'];
        $ids = [];
        for ($i = 0; $i < $n; $i++) {
            $page['userid'] = 4;
            $page['timecreated'] = 1754155620 + $i;
            $page['ip'] = '192.0.2.10';
            $ids[] = $this->add_row($page);
        }
        return $ids;
    }

    /**
     * Runs flush() and returns the exception it threw, if any.
     *
     * @param int $now
     * @return \moodle_exception|null
     */
    protected function flush_catching(int $now = self::NOW): ?\moodle_exception {
        try {
            (new sender())->flush($now);
        } catch (\moodle_exception $e) {
            return $e;
        }
        return null;
    }

    public function test_2xx_sends_one_batch_and_deletes_rows(): void {
        $this->add_views(3);

        $stats = (new sender())->flush(self::NOW);

        $this->assertSame(3, $stats['sent']);
        $this->assertSame([], $this->outbox());
        $requests = $this->requests();
        $this->assertCount(1, $requests);
        $this->assertSame('POST', $requests[0]['method']);
        $this->assertSame('/webhook/moodle-events', $requests[0]['path']);
        $this->assertSame('test-token', $requests[0]['token']);
        $this->assertSame('application/json', $requests[0]['contenttype']);
        $body = json_decode($requests[0]['body'], true);
        $this->assertSame(['logs', 'event_id', 'timestamp'], array_keys($body));
        $this->assertSame(self::NOW, $body['timestamp']);
        $this->assertMatchesRegularExpression('/^moodle_batch_[0-9a-f]{40}$/', $body['event_id']);
        $this->assertCount(3, $body['logs']);
        $this->assertSame('\mod_page\event\course_module_viewed', $body['logs'][0]['eventname']);
        $this->assertArrayNotHasKey('ip', $body['logs'][0], 'IPs are never sent');
        $this->assertStringNotContainsString('192.0.2.10', $requests[0]['body']);
    }

    public function test_oldest_first_in_batches_of_batchsize(): void {
        set_config('batchsize', 2, 'local_ferry');
        $this->add_views(5);

        $stats = (new sender())->flush(self::NOW);

        $this->assertSame(5, $stats['sent']);
        $this->assertSame(3, $stats['batches']);
        $times = [];
        foreach ($this->requests() as $request) {
            $logs = json_decode($request['body'], true)['logs'];
            $this->assertLessThanOrEqual(2, count($logs));
            $times = array_merge($times, array_column($logs, 'timecreated'));
        }
        $this->assertSame(range(1754155620, 1754155624), $times, 'oldest first, each row once');
    }

    public function test_5xx_keeps_rows_backs_off_and_throws(): void {
        $this->add_views(2);
        $this->respond(['*' => [503]]);

        $e = $this->flush_catching();

        $this->assertNotNull($e, 'the task must fail so Moodle retries it');
        $this->assertSame('sendfailed', $e->errorcode);
        $rows = $this->outbox();
        $this->assertCount(2, $rows);
        foreach ($rows as $row) {
            $this->assertSame('1', $row->attempts);
            $this->assertSame((string)(self::NOW + 60), $row->nextattempt);
            $this->assertStringContainsString('HTTP 503', $row->lasterror);
            $this->assertSame('0', $row->parked);
        }

        // During the backoff nothing is sent at all.
        $stats = (new sender())->flush(self::NOW + 30);
        $this->assertTrue($stats['waiting']);
        $this->assertCount(1, $this->requests());

        // Second failure: the delay doubles.
        $this->assertNotNull($this->flush_catching(self::NOW + 60));
        $this->assertSame('2', $this->outbox()[0]->attempts);
        $this->assertSame((string)(self::NOW + 60 + 120), $this->outbox()[0]->nextattempt);

        // Back up: the same rows go out once, with the same batch id as before.
        $this->respond(['*' => [202]]);
        $stats = (new sender())->flush(self::NOW + 180);
        $this->assertSame(2, $stats['sent']);
        $this->assertSame([], $this->outbox());
        $ids = array_map(fn($r) => json_decode($r['body'], true)['event_id'], $this->requests());
        $this->assertCount(1, array_unique($ids), 'a resent batch keeps its event_id, so ferry can deduplicate it');
    }

    public function test_backoff_is_capped(): void {
        $this->add_row(['eventname' => '\core\event\course_viewed', 'userid' => 4], ['attempts' => 30]);
        $this->respond(['*' => [500]]);
        $this->assertNotNull($this->flush_catching());
        $this->assertSame((string)(self::NOW + sender::BACKOFF_MAX), $this->outbox()[0]->nextattempt);
    }

    public function test_connection_refused_keeps_rows_and_throws(): void {
        set_config('url', 'http://127.0.0.1:' . self::free_port(), 'local_ferry');
        $this->add_views(1);

        $e = $this->flush_catching();

        $this->assertNotNull($e);
        $row = $this->outbox()[0];
        $this->assertSame('1', $row->attempts);
        $this->assertStringContainsString('cURL error 7', $row->lasterror);
    }

    public function test_blocked_by_http_security_keeps_rows(): void {
        global $CFG;
        // Moodle's defaults.
        $CFG->curlsecurityblockedhosts = "127.0.0.0/8\n192.168.0.0/16\n10.0.0.0/8\n172.16.0.0/12\n0.0.0.0\nlocalhost";
        $CFG->curlsecurityallowedport = "443\n80";
        $this->add_views(1);

        $e = $this->flush_catching();

        $this->assertNotNull($e);
        $this->assertSame([], $this->requests());
        $this->assertSame('The URL is blocked.', $this->outbox()[0]->lasterror);
        $this->assertSame('0', $this->outbox()[0]->parked);
    }

    public function test_4xx_parks_only_the_bad_row(): void {
        [$first, $bad, $third] = $this->add_views(3);
        // The whole batch is refused, then rows go one by one: the second is the poison one.
        $this->respond(['/webhook/moodle-events' => [422, 202, 422, 202]]);

        $stats = (new sender())->flush(self::NOW);

        $this->assertSame(2, $stats['sent']);
        $this->assertSame(1, $stats['parked']);
        $rows = $this->outbox();
        $this->assertCount(1, $rows);
        $this->assertSame((string)$bad, $rows[0]->id);
        $this->assertSame('1', $rows[0]->parked);
        $this->assertStringContainsString('HTTP 422', $rows[0]->lasterror);

        // Parked rows never block or get resent.
        $this->add_views(1);
        $stats = (new sender())->flush(self::NOW);
        $this->assertSame(1, $stats['sent']);
        $this->assertCount(1, $this->outbox());
    }

    public function test_single_row_4xx_is_parked_without_exception(): void {
        $this->add_views(1);
        $this->respond(['*' => [400]]);
        $this->assertNull($this->flush_catching());
        $this->assertSame('1', $this->outbox()[0]->parked);
    }

    public function test_auth_and_rate_limit_answers_are_retried_not_parked(): void {
        foreach ([401, 403, 404, 408, 429] as $status) {
            $this->setUp();
            $this->add_views(1);
            $this->respond(['*' => [$status]]);
            $this->assertNotNull($this->flush_catching(), "HTTP $status must be retried");
            $row = $this->outbox()[0];
            $this->assertSame('0', $row->parked, "HTTP $status must not park");
            $this->assertSame('1', $row->attempts);
        }
    }

    public function test_one_sender_at_a_time(): void {
        $this->add_views(1);
        $lock = \core\lock\lock_config::get_lock_factory('local_ferry')->get_lock('outbox', 0);
        $stats = (new sender())->flush(self::NOW);
        $this->assertSame('locked', $stats['error']);
        $this->assertSame([], $this->requests());
        $lock->release();
        $this->assertSame(1, (new sender())->flush(self::NOW)['sent']);
    }

    public function test_lock_released_after_failure(): void {
        $this->add_views(1);
        $this->respond(['*' => [500]]);
        $this->assertNotNull($this->flush_catching());
        $this->respond(['*' => [202]]);
        $this->assertSame(1, (new sender())->flush(self::NOW + 3600)['sent']);
    }

    public function test_not_configured_sends_nothing(): void {
        set_config('url', '', 'local_ferry');
        $this->add_views(1);
        $stats = (new sender())->flush(self::NOW);
        $this->assertSame('notconfigured', $stats['error']);
        $this->assertCount(1, $this->outbox());
        $this->assertSame([], $this->requests());
    }

    /**
     * Seeds the core tables the per-type payloads are read from.
     *
     * @return void
     */
    protected function seed_core_tables(): void {
        global $DB;
        // Ids as on the fixtures' site: 1 guest, 2 admin, 3 created by the admin, 4 the learner.
        $DB->insert_record('user', ['username' => 'guest', 'firstname' => 'Guest', 'lastname' => 'User']);
        $DB->insert_record('user', ['username' => 'admin', 'firstname' => 'Admin', 'lastname' => 'User',
            'email' => 'admin@example.org', 'timecreated' => 1754150000, 'timemodified' => 1754150000]);
        $DB->insert_record('user', ['username' => 'ben', 'firstname' => 'Ben', 'lastname' => 'Okoro',
            'email' => 'ben@example.org', 'timecreated' => 1754154900, 'timemodified' => 1754154900]);
        $DB->insert_record('user', ['username' => 'ana', 'firstname' => 'Ana', 'lastname' => 'Silva',
            'email' => 'ana@example.org', 'idnumber' => 'S-3', 'city' => 'Porto', 'country' => 'PT',
            'timecreated' => 1754154801, 'timemodified' => 1754154801]);
        $DB->insert_record('enrol', ['enrol' => 'manual', 'courseid' => 2, 'roleid' => 5]);
        for ($i = 0; $i < 4; $i++) {
            $DB->insert_record('user_enrolments', ['enrolid' => 1, 'userid' => 3, 'timecreated' => 1]);
        }
        $DB->insert_record('user_enrolments', ['enrolid' => 1, 'userid' => 4, 'status' => 0, 'timestart' => 1754164700,
            'timeend' => 0, 'timecreated' => 1754164724]);
        $DB->insert_record('role_assignments', ['roleid' => 5, 'contextid' => 18, 'userid' => 4]);
    }

    public function test_user_enrolment_and_grade_events_also_go_to_per_type_endpoints(): void {
        $this->seed_core_tables();
        $fixtures = $this->fixtures();
        $this->add_row($fixtures['\mod_quiz\event\attempt_submitted']);
        $this->add_row($fixtures['\core\event\user_created']);
        $this->add_row($fixtures['\core\event\user_enrolment_created']);
        $graded = $fixtures['\core\event\user_graded'] + ['gradeitem' => 11, 'finalgrade' => 2.0, 'grademax' => 10.0,
            '_ferry' => ['itemname' => 'Quiz 1', 'feedback' => 'Good', 'grader' => 4, 'timemodified' => 1754165235]];
        $this->add_row($graded);
        $updated = $fixtures['\core\event\user_created'];
        $updated['eventname'] = '\core\event\user_updated';
        $updated['objectid'] = $updated['relateduserid'] = 4;
        $this->add_row($updated);
        $this->respond(['/webhook/moodle-events' => [202], '*' => [200]]);

        $stats = (new sender())->flush(self::NOW);

        $this->assertSame(5, $stats['sent']);
        $this->assertSame(4, $stats['typed']);
        $this->assertSame([], $this->outbox());
        $requests = $this->requests();
        $this->assertSame([
            '/webhook/moodle-events',
            '/api/v1/events/moodle/user_created',
            '/api/v1/events/moodle/user_enrolled',
            '/api/v1/events/moodle/grade_updated',
            '/api/v1/events/moodle/user_updated',
        ], array_column($requests, 'path'));
        $batch = json_decode($requests[0]['body'], true);
        $this->assertCount(5, $batch['logs']);
        $this->assertArrayNotHasKey('_ferry', $batch['logs'][3], 'private keys stay out of the batch');
        $this->assertSame(10, $batch['logs'][3]['grademax']);

        $created = json_decode($requests[1]['body'], true);
        $this->assertSame(['eventname', 'userid', 'username', 'firstname', 'lastname', 'email', 'idnumber', 'phone1',
            'city', 'country', 'suspended', 'deleted', 'timecreated', 'timemodified'], array_keys($created));
        $this->assertSame('\core\event\user_created', $created['eventname']);
        $this->assertSame(3, $created['userid']);
        $this->assertSame('ben', $created['username']);
        $this->assertSame(0, $created['suspended']);

        $enrolled = json_decode($requests[2]['body'], true);
        $this->assertSame(['eventname' => '\core\event\user_enrolment_created', 'enrollmentid' => 5, 'userid' => 4,
            'courseid' => 2, 'roleid' => 5, 'status' => 0, 'timestart' => 1754164700, 'timeend' => 0,
            'timecreated' => 1754164724], $enrolled);

        $grade = json_decode($requests[3]['body'], true);
        $this->assertSame(['eventname' => '\core\event\user_graded', 'gradeid' => 43, 'userid' => 4, 'itemid' => 11,
            'itemname' => 'Quiz 1', 'finalgrade' => 2, 'feedback' => 'Good', 'grader' => 4,
            'timecreated' => 1754165235, 'timemodified' => 1754165235], $grade);

        $this->assertSame('ana', json_decode($requests[4]['body'], true)['username']);
        foreach ($requests as $request) {
            $this->assertSame('test-token', $request['token']);
        }
    }

    public function test_per_type_5xx_keeps_only_that_row(): void {
        $this->seed_core_tables();
        $fixtures = $this->fixtures();
        $this->add_row($fixtures['\mod_quiz\event\attempt_submitted']);
        $this->add_row($fixtures['\core\event\user_created']);
        $this->respond(['/webhook/moodle-events' => [202], '*' => [503]]);

        $this->assertNotNull($this->flush_catching());

        $rows = $this->outbox();
        $this->assertCount(1, $rows);
        $this->assertSame('\core\event\user_created', $rows[0]->eventname);
        $this->assertSame('1', $rows[0]->attempts);
        $this->assertStringContainsString('HTTP 503 from /api/v1/events/moodle/user_created', $rows[0]->lasterror);
    }

    public function test_per_type_404_parks_the_row(): void {
        $this->seed_core_tables();
        $this->add_row($this->fixtures()['\core\event\user_created']);
        $this->respond(['/webhook/moodle-events' => [202], '*' => [404]]);

        $this->assertNull($this->flush_catching());
        $this->assertSame('1', $this->outbox()[0]->parked);
    }

    public function test_enrolment_without_role_uses_the_enrol_default_role(): void {
        global $DB;
        $this->seed_core_tables();
        $DB->delete_records('role_assignments');
        $row = (object)['id' => 1, 'eventname' => '\core\event\user_enrolment_created', 'timecreated' => 1,
            'payload' => json_encode($this->fixtures()['\core\event\user_enrolment_created'])];
        $payload = (new sender())->typed_payload('user_enrolled', $row);
        $this->assertSame(5, $payload['roleid']);
    }

    public function test_tasks_run_the_sender_and_fail_on_errors(): void {
        $this->add_views(1);
        (new \local_ferry\task\send_outbox())->execute();
        $this->assertSame([], $this->outbox());
        $this->assertSame(['local_ferry: sent 1 events in 1 batches, 0 per-type calls, parked 0'],
            \moodle_standin\standin::$mtrace);

        $this->add_views(1);
        $this->respond(['*' => [502]]);
        $this->expectException(\moodle_exception::class);
        (new \local_ferry\task\flush_outbox())->execute();
    }
}
