<?php
// PHPUnit tests of \local_ferry\sender over real HTTP (a php -S receiver), against the
// moodle_standin (NOT Moodle).
// @license GNU GPL v3 or later

namespace local_ferry\tests;

use local_ferry\sender;

/**
 * Sender: 2xx deletes, 5xx/network keeps + backs off (and returns normally), 4xx parks, oldest first, batch size,
 * byte cap, time budget, per-log keys, per-type endpoints.
 *
 * @covers \local_ferry\sender
 */
class sender_test extends ferry_testcase {
    /** Fixed clock. */
    const NOW = 1765000000;

    /** @var int[] timecreated of the rows add_views() added */
    protected $created = [];

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
            $ids[] = $this->add_row($page, ['timecreated' => 1765000000 + $i]);
            $this->created[] = 1765000000 + $i;
        }
        return $ids;
    }

    /**
     * Runs flush(), which must return normally whatever ferry does.
     *
     * @param int $now
     * @return array stats
     */
    protected function flush_at(int $now = self::NOW): array {
        return (new sender())->flush($now);
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
        $this->assertNull($requests[0]['authorization'], 'the token never goes in an Authorization header');
        $this->assertSame('application/json', $requests[0]['contenttype']);
        $body = json_decode($requests[0]['body'], true);
        $this->assertSame(['logs', 'event_id', 'timestamp'], array_keys($body));
        $this->assertSame(self::NOW, $body['timestamp']);
        $this->assertMatchesRegularExpression('/^moodle_batch_[0-9a-f]{40}$/', $body['event_id']);
        $this->assertCount(3, $body['logs']);
        $this->assertSame('\mod_page\event\course_module_viewed', $body['logs'][0]['eventname']);
        $this->assertArrayNotHasKey('ip', $body['logs'][0], 'IPs are never sent');
        $this->assertStringNotContainsString('192.0.2.10', $requests[0]['body']);
        $site = substr(sha1('standin-site'), 0, 16);
        foreach ($body['logs'] as $i => $log) {
            $this->assertSame("moodle:$site:" . ($i + 1) . ':' . $this->created[$i], $log['idempotency_key']);
        }
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

    public function test_5xx_keeps_rows_backs_off_and_returns_normally(): void {
        $this->add_views(2);
        $this->respond(['*' => [503]]);

        $stats = $this->flush_at();

        $this->assertTrue($stats['transient'], 'the failure is reported in the stats, not thrown');
        $this->assertStringContainsString('HTTP 503', $stats['error']);
        $rows = $this->outbox();
        $this->assertCount(2, $rows);
        foreach ($rows as $row) {
            $this->assertSame('1', $row->attempts);
            $this->assertSame((string)(self::NOW + 60), $row->nextattempt);
            $this->assertStringContainsString('HTTP 503', $row->lasterror);
            $this->assertSame('0', $row->parked);
        }

        // During the backoff nothing is sent at all.
        $stats = $this->flush_at(self::NOW + 30);
        $this->assertTrue($stats['waiting']);
        $this->assertCount(1, $this->requests());

        // Second failure: the delay doubles.
        $this->assertTrue($this->flush_at(self::NOW + 60)['transient']);
        $this->assertSame('2', $this->outbox()[0]->attempts);
        $this->assertSame((string)(self::NOW + 60 + 120), $this->outbox()[0]->nextattempt);

        // Back up: the same rows go out once, with the same batch id and the same per-log keys.
        $this->respond(['*' => [202]]);
        $stats = $this->flush_at(self::NOW + 180);
        $this->assertSame(2, $stats['sent']);
        $this->assertSame([], $this->outbox());
        $bodies = array_map(fn($r) => json_decode($r['body'], true), $this->requests());
        $this->assertCount(1, array_unique(array_column($bodies, 'event_id')), 'a resent batch keeps its event_id');
        $this->assertSame(array_column($bodies[0]['logs'], 'idempotency_key'),
            array_column($bodies[2]['logs'], 'idempotency_key'), 'a resent log keeps its key');
    }

    public function test_backoff_is_capped(): void {
        $this->add_row(['eventname' => '\core\event\course_viewed', 'userid' => 4], ['attempts' => 30]);
        $this->respond(['*' => [500]]);
        $this->flush_at();
        $this->assertSame((string)(self::NOW + sender::BACKOFF_MAX), $this->outbox()[0]->nextattempt);
        $this->assertSame([60, 120, 240, 480, 960, 1920, 3600, 3600], array_map([sender::class, 'backoff'], range(1, 8)));
    }

    public function test_connection_refused_keeps_rows(): void {
        set_config('url', 'http://127.0.0.1:' . self::free_port(), 'local_ferry');
        $this->add_views(1);

        $stats = $this->flush_at();

        $this->assertTrue($stats['transient']);
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

        $this->assertTrue($this->flush_at()['transient']);
        $this->assertSame([], $this->requests());
        $this->assertSame('The URL is blocked.', $this->outbox()[0]->lasterror);
        $this->assertSame('0', $this->outbox()[0]->parked);
    }

    public function test_redirects_are_not_followed_and_the_token_does_not_travel(): void {
        // A second receiver path stands for "another host": it must never see a request.
        $this->respond(['/webhook/moodle-events' => [307], '*' => [202]],
            ['location' => $this->receiver_url() . '/elsewhere']);
        $this->add_views(1);

        $stats = $this->flush_at();

        $this->assertSame(['/webhook/moodle-events'], array_column($this->requests(), 'path'), 'no request to the target');
        $this->assertTrue($stats['transient'], 'a redirect is a configuration problem: kept and retried');
        $row = $this->outbox()[0];
        $this->assertSame('0', $row->parked);
        $this->assertStringContainsString('HTTP 307', $row->lasterror);
        $this->assertStringContainsString('/elsewhere', $row->lasterror);
        // What \curl was told: certificates verified, no redirects (Moodle's defaults are the opposite).
        $options = \curl::$requests[0]['options'];
        $this->assertSame(1, $options['CURLOPT_SSL_VERIFYPEER']);
        $this->assertSame(2, $options['CURLOPT_SSL_VERIFYHOST']);
        $this->assertSame(0, $options['CURLOPT_FOLLOWLOCATION']);
        $this->assertSame(0, $options['CURLOPT_MAXREDIRS']);
        $this->assertSame([], preg_grep('/^Authorization:/i', \curl::$requests[0]['headers']));
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

    public function test_single_row_4xx_is_parked(): void {
        $this->add_views(1);
        $this->respond(['*' => [400]]);
        $this->assertSame(1, $this->flush_at()['parked']);
        $this->assertSame('1', $this->outbox()[0]->parked);
    }

    public function test_auth_and_rate_limit_answers_are_retried_not_parked(): void {
        foreach ([401, 403, 404, 408, 429] as $status) {
            $this->setUp();
            $this->add_views(1);
            $this->respond(['*' => [$status]]);
            $this->assertTrue($this->flush_at()['transient'], "HTTP $status must be retried");
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
        $this->assertTrue($this->flush_at()['transient']);
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

        // Each per-type payload carries the key of the same event's batch log.
        foreach ([1, 2, 3, 4] as $i) {
            $typed = json_decode($requests[$i]['body'], true);
            $this->assertSame($batch['logs'][$i]['idempotency_key'], $typed['idempotency_key']);
        }
        $created = json_decode($requests[1]['body'], true);
        unset($created['idempotency_key']);
        $this->assertSame(['eventname', 'userid', 'username', 'firstname', 'lastname', 'email', 'idnumber', 'phone1',
            'city', 'country', 'suspended', 'deleted', 'timecreated', 'timemodified'], array_keys($created));
        $this->assertSame('\core\event\user_created', $created['eventname']);
        $this->assertSame(3, $created['userid']);
        $this->assertSame('ben', $created['username']);
        $this->assertSame(0, $created['suspended']);

        $enrolled = json_decode($requests[2]['body'], true);
        unset($enrolled['idempotency_key']);
        $this->assertSame(['eventname' => '\core\event\user_enrolment_created', 'enrollmentid' => 5, 'userid' => 4,
            'courseid' => 2, 'roleid' => 5, 'status' => 0, 'timestart' => 1754164700, 'timeend' => 0,
            'timecreated' => 1754164724], $enrolled);

        $grade = json_decode($requests[3]['body'], true);
        unset($grade['idempotency_key']);
        $this->assertSame(['eventname' => '\core\event\user_graded', 'gradeid' => 43, 'userid' => 4, 'courseid' => 2,
            'itemid' => 11, 'itemname' => 'Quiz 1', 'finalgrade' => 2, 'grademax' => 10, 'feedback' => 'Good',
            'grader' => 4, 'timecreated' => 1754165235, 'timemodified' => 1754165235], $grade);

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

        $this->assertTrue($this->flush_at()['transient']);

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

        $this->assertSame(1, $this->flush_at()['parked']);
        $this->assertSame('1', $this->outbox()[0]->parked);
    }

    /**
     * The per-type enrolment payload of the fixture's enrolment (user_enrolments 5, context 18).
     *
     * @return array
     */
    protected function enrolled_payload(): array {
        $row = (object)['id' => 1, 'eventname' => '\core\event\user_enrolment_created', 'timecreated' => 1,
            'payload' => json_encode($this->fixtures()['\core\event\user_enrolment_created'])];
        return \local_ferry\payloads::typed('user_enrolled', $row);
    }

    public function test_enrolment_role_is_the_one_this_enrolment_gave(): void {
        global $DB;
        $this->seed_core_tables();
        $DB->delete_records('role_assignments');
        // An older teacher role in the course, from another enrolment method (a protected assignment).
        $DB->insert_record('role_assignments', ['roleid' => 3, 'contextid' => 18, 'userid' => 4,
            'component' => 'enrol_cohort', 'itemid' => 9, 'timemodified' => 1000]);
        // Manual enrolment 5 was made at 1754164724 with the role chosen in the dialog (4, non-editing teacher).
        $DB->insert_record('role_assignments', ['roleid' => 4, 'contextid' => 18, 'userid' => 4,
            'timemodified' => 1754164725]);
        $this->assertSame(4, $this->enrolled_payload()['roleid'], 'not the oldest assignment in the course');

        // A method with protected roles: its own assignment wins.
        $DB->set_field('enrol', 'enrol', 'self', ['id' => 1]);
        $DB->insert_record('role_assignments', ['roleid' => 5, 'contextid' => 18, 'userid' => 4,
            'component' => 'enrol_self', 'itemid' => 1, 'timemodified' => 1754164900]);
        $this->assertSame(5, $this->enrolled_payload()['roleid']);
    }

    public function test_enrolment_without_role_uses_the_enrol_default_role(): void {
        global $DB;
        $this->seed_core_tables();
        $DB->delete_records('role_assignments');
        // A manual assignment made long before this enrolment does not count.
        $DB->insert_record('role_assignments', ['roleid' => 3, 'contextid' => 18, 'userid' => 4, 'timemodified' => 1000]);
        $this->assertSame(5, $this->enrolled_payload()['roleid']);
    }

    public function test_batches_stay_under_the_byte_cap(): void {
        // Five events of about 300 KB each: at most three per request (ferry's body limit is 1 MiB).
        for ($i = 0; $i < 5; $i++) {
            $this->add_row(['eventname' => '\core\event\course_viewed', 'userid' => 4, 'courseid' => 2,
                'timecreated' => 1754155620 + $i, 'other' => ['note' => str_repeat('x', 300000)]]);
        }
        $stats = $this->flush_at();
        $this->assertSame(5, $stats['sent']);
        $this->assertGreaterThanOrEqual(2, count($stats['requests']));
        foreach ($stats['requests'] as $request) {
            $this->assertLessThan(sender::MAX_BATCH_BYTES, $request['bytes']);
        }
        $this->assertSame(5, array_sum(array_column($stats['requests'], 'count')));
    }

    public function test_time_budget_is_checked_before_every_request_of_the_one_by_one_fallback(): void {
        $this->add_views(6);
        // The batch is refused, so rows go one by one; each answer takes 300 ms and the budget is 0.5 s.
        $this->respond(['/webhook/moodle-events' => [422, 202]], ['delay_ms' => 300]);
        $sender = new sender();
        $sender->budget = 0.5;

        $stats = $sender->flush(self::NOW);

        $this->assertTrue($stats['outoftime']);
        $requests = count($this->requests());
        $this->assertGreaterThanOrEqual(1, $requests);
        $this->assertLessThan(7, $requests, 'stopped before sending all six one by one');
        // Untouched rows are neither failed nor parked: the next run carries on.
        foreach ($this->outbox() as $row) {
            $this->assertSame('0', $row->attempts);
            $this->assertSame('0', $row->parked);
        }
        $this->assertSame(6, $stats['sent'] + count($this->outbox()));
    }

    public function test_time_budget_is_checked_before_every_per_type_call(): void {
        $this->seed_core_tables();
        $created = $this->fixtures()['\core\event\user_created'];
        for ($i = 0; $i < 5; $i++) {
            $this->add_row($created);
        }
        $this->respond(['*' => [200]], ['delay_ms' => 300]);
        $sender = new sender();
        $sender->budget = 0.5;

        $stats = $sender->flush(self::NOW);

        $this->assertTrue($stats['outoftime']);
        $this->assertLessThan(5, $stats['typed']);
        $this->assertSame($stats['typed'], $stats['sent'], 'only rows whose per-type call was made are deleted');
        $this->assertCount(5 - $stats['typed'], $this->outbox());
    }

    public function test_an_event_that_cannot_be_encoded_is_parked_not_retried_forever(): void {
        $this->add_views(1);
        // A stored payload with a number JSON cannot hold (written by hand: the observer never stores one).
        $this->add_row(['eventname' => '\core\event\course_viewed'], ['payload' => '{"eventname":"x","grade":1e999}']);
        $this->add_views(1);

        $stats = $this->flush_at();

        $this->assertSame(2, $stats['sent']);
        $this->assertSame(1, $stats['parked']);
        $this->assertStringContainsString('could not encode the event as JSON', $this->outbox()[0]->lasterror);
    }

    public function test_tasks_never_fail_on_an_outage_so_moodle_adds_no_fail_delay(): void {
        $this->add_views(1);
        (new \local_ferry\task\send_outbox())->execute();
        $this->assertSame([], $this->outbox());
        $this->assertSame(['local_ferry: sent 1 events in 1 batches, 0 per-type calls, parked 0'],
            \moodle_standin\standin::$mtrace);

        // Ferry down for a long time: the adhoc task runs many times and never throws.
        set_config('url', 'http://127.0.0.1:' . self::free_port(), 'local_ferry');
        $this->add_views(1);
        for ($run = 0; $run < 5; $run++) {
            \core\task\manager::queue_adhoc_task(new \local_ferry\task\send_outbox(), true);
            [$ran, $failed] = \moodle_standin\cron::run_adhoc_tasks();
            $this->assertSame([1, 0], [$ran, $failed], 'the task completes: no Moodle fail delay');
            $this->assertSame([], \core\task\manager::$queued, 'and leaves the queue, so a new one can be queued');
            (new \local_ferry\task\flush_outbox())->execute();
        }
        $this->assertSame([], \moodle_standin\cron::$faildelay);
        $this->assertNotEmpty(preg_grep('/delivery failed, 1 events kept for retry: cURL error 7/',
            \moodle_standin\standin::$mtrace));
        $this->assertNotEmpty(preg_grep('/waiting for the retry backoff/', \moodle_standin\standin::$mtrace));
    }
}
