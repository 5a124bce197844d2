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
 * Delivers outbox rows to ferry: batches to /webhook/moodle-events, plus the four user,
 * enrolment and grade events one by one to /api/v1/events/moodle/{type}.
 *
 * Rows leave the outbox only after a 2xx. A transport error or a 5xx backs the whole queue
 * off (rows keep their order) and makes the caller's task fail, so Moodle retries it too.
 * A row that ferry rejects with a 4xx is parked with its error instead of blocking the queue.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class sender {
    /** Batch endpoint. */
    public const BATCH_PATH = '/webhook/moodle-events';

    /** Per-type endpoint prefix. */
    public const TYPE_PATH = '/api/v1/events/moodle/';

    /** First retry delay in seconds; doubled on every further failure. */
    public const BACKOFF_BASE = 60;

    /** Longest retry delay in seconds. */
    public const BACKOFF_MAX = 3600;

    /** Stop starting new batches after this many seconds; the next task run carries on. */
    public const TIME_BUDGET = 50;

    /**
     * 4xx answers that mean "wrong URL, token or too busy" rather than "bad row":
     * parking every row for a typo in the settings would need manual requeueing.
     */
    public const RETRY_4XX = [401, 403, 404, 405, 408, 425, 429];

    /** @var array counters and request log of the last flush() */
    public $stats = [];

    /** @var int|null fixed clock for tests and the end-to-end script */
    protected $now = null;

    /** @var \stdClass plugin config */
    protected $config;

    /**
     * Sends everything that is due.
     *
     * @param int|null $now clock override (tests); defaults to time()
     * @return array stats: sent, typed, parked, failed, batches, waiting, error, requests
     * @throws \moodle_exception when ferry could not be reached or answered 5xx; rows are kept
     */
    public function flush(?int $now = null): array {
        global $CFG;
        require_once($CFG->libdir . '/filelib.php');

        $this->now = $now;
        $this->stats = ['sent' => 0, 'typed' => 0, 'parked' => 0, 'failed' => 0, 'batches' => 0,
            'waiting' => false, 'error' => null, 'requests' => []];
        $this->config = (object)get_config('local_ferry');
        if (trim((string)($this->config->url ?? '')) === '') {
            $this->stats['error'] = 'notconfigured';
            return $this->stats;
        }
        $batchsize = max(1, min(1000, (int)($this->config->batchsize ?? 100) ?: 100));

        // The adhoc and the scheduled task may run at once on sites with several cron runners;
        // one sender at a time keeps every row in exactly one request.
        $lock = \core\lock\lock_config::get_lock_factory('local_ferry')->get_lock('outbox', 0);
        if (!$lock) {
            $this->stats['error'] = 'locked';
            return $this->stats;
        }
        try {
            $this->send_due($batchsize);
        } finally {
            $lock->release();
        }
        return $this->stats;
    }

    /**
     * Sends batches until the queue is empty, waiting for its backoff, or the time budget is used.
     *
     * @param int $batchsize
     * @return void
     * @throws \moodle_exception after a transient failure
     */
    protected function send_due(int $batchsize): void {
        global $DB;

        $started = time();
        while (true) {
            // Oldest first. The head decides: while it waits for its backoff the whole queue
            // waits, so later events never overtake earlier ones.
            $rows = $DB->get_records_select(observer::TABLE, 'parked = 0', [], 'id ASC', '*', 0, $batchsize);
            $rows = array_values($rows);
            if (!$rows) {
                break;
            }
            if ((int)$rows[0]->nextattempt > $this->now()) {
                $this->stats['waiting'] = true;
                break;
            }
            if (!$this->send_rows($rows)) {
                throw new \moodle_exception('sendfailed', 'local_ferry', '', $this->stats['error']);
            }
            if (time() - $started >= self::TIME_BUDGET) {
                break;
            }
        }
    }

    /**
     * Sends one batch; isolates rejected rows when ferry refuses the batch as a whole.
     *
     * @param \stdClass[] $rows
     * @return bool false after a transient failure (rows kept, backoff set)
     */
    protected function send_rows(array $rows): bool {
        $result = $this->post_batch($rows);
        if ($result['outcome'] === 'ok') {
            return $this->after_batch($rows);
        }
        if ($result['outcome'] === 'retry') {
            $this->fail($rows, $result['error']);
            return false;
        }
        if (count($rows) === 1) {
            $this->park($rows[0], $result['error']);
            return true;
        }
        // Ferry rejected the batch: send the rows one by one so only the bad ones get parked.
        foreach ($rows as $i => $row) {
            $single = $this->post_batch([$row]);
            if ($single['outcome'] === 'ok') {
                if (!$this->after_batch([$row])) {
                    $this->fail(array_slice($rows, $i + 1), $this->stats['error']);
                    return false;
                }
            } else if ($single['outcome'] === 'retry') {
                $this->fail(array_slice($rows, $i), $single['error']);
                return false;
            } else {
                $this->park($row, $single['error']);
            }
        }
        return true;
    }

    /**
     * After ferry accepted a batch: per-type calls, then deletion of what is done.
     *
     * @param \stdClass[] $rows rows of the accepted batch
     * @return bool false after a transient failure of a per-type call
     */
    protected function after_batch(array $rows): bool {
        global $DB;

        $this->stats['batches']++;
        $done = [];
        $ok = true;
        foreach ($rows as $row) {
            $type = observer::TYPED_EVENTS[$row->eventname] ?? null;
            if ($type === null) {
                $done[] = $row->id;
                continue;
            }
            if (!$ok) {
                // Keep the row: the batch will be resent with it, and ferry counts it as a duplicate.
                $this->fail([$row], $this->stats['error']);
                continue;
            }
            $result = $this->post_json(self::TYPE_PATH . $type, $this->typed_payload($type, $row), true);
            if ($result['outcome'] === 'ok') {
                $this->stats['typed']++;
                $done[] = $row->id;
            } else if ($result['outcome'] === 'park') {
                $this->park($row, $result['error']);
            } else {
                $ok = false;
                $this->fail([$row], $result['error']);
            }
        }
        if ($done) {
            $DB->delete_records_list(observer::TABLE, 'id', $done);
            $this->stats['sent'] += count($done);
        }
        return $ok;
    }

    /**
     * POSTs rows as one batch.
     *
     * @param \stdClass[] $rows
     * @return array outcome (ok, retry, park), status, error
     */
    protected function post_batch(array $rows): array {
        $logs = [];
        $keys = [];
        foreach ($rows as $row) {
            $logs[] = self::batch_log($row);
            $keys[] = $row->id . ':' . $row->timecreated;
        }
        // Same rows, same id: a batch resent after a lost answer is recognised by ferry.
        // The site identifier keeps ids of different Moodle sites apart.
        $eventid = 'moodle_batch_' . sha1(get_site_identifier() . '|' . implode(',', $keys));
        // The timestamp (send time) is optional in ferry's contract; the observer plugin ferry
        // replaces always sent it, so receivers written against that traffic accept it too.
        $body = ['logs' => $logs, 'event_id' => $eventid, 'timestamp' => $this->now()];
        return $this->post_json(self::BATCH_PATH, $body, false);
    }

    /**
     * The log sent in a batch: the stored payload without private keys and without any IP.
     *
     * @param \stdClass $row outbox row
     * @return \stdClass
     */
    public static function batch_log(\stdClass $row): \stdClass {
        // Decoded as objects so that empty objects stay objects in the JSON sent.
        $log = json_decode($row->payload);
        if (!$log instanceof \stdClass) {
            $log = new \stdClass();
            $log->eventname = $row->eventname;
            $log->userid = (int)$row->userid;
        }
        unset($log->_ferry, $log->ip);
        return $log;
    }

    /**
     * Payload of a per-type call, in the shapes ferry's per-type endpoints expect.
     *
     * Built at send time (in cron, never during a page request) because some of it does not
     * exist yet when the event fires: enrol_user() assigns the role after user_enrolment_created.
     *
     * @param string $type user_created, user_updated, user_enrolled or grade_updated
     * @param \stdClass $row outbox row
     * @return array
     */
    public function typed_payload(string $type, \stdClass $row): array {
        global $DB;

        $log = json_decode($row->payload, true) ?: [];
        $eventname = (string)($log['eventname'] ?? $row->eventname);
        $timecreated = (int)($log['timecreated'] ?? $row->timecreated);
        $relateduserid = (int)($log['relateduserid'] ?? 0);

        if ($type === 'user_created' || $type === 'user_updated') {
            $userid = $relateduserid ?: (int)($log['objectid'] ?? 0);
            $fields = ['username', 'firstname', 'lastname', 'email', 'idnumber', 'phone1', 'city', 'country',
                'suspended', 'deleted', 'timecreated', 'timemodified'];
            $payload = ['eventname' => $eventname, 'userid' => $userid];
            $user = $DB->get_record('user', ['id' => $userid], 'id, ' . implode(', ', $fields));
            foreach ($fields as $field) {
                $payload[$field] = $user ? $user->$field : null;
            }
            foreach (['suspended', 'deleted', 'timecreated', 'timemodified'] as $field) {
                $payload[$field] = $payload[$field] === null ? null : (int)$payload[$field];
            }
            if ($payload['timecreated'] === null) {
                $payload['timecreated'] = $timecreated;
            }
            return $payload;
        }

        if ($type === 'user_enrolled') {
            $ue = $DB->get_record('user_enrolments', ['id' => (int)($log['objectid'] ?? 0)]);
            $userid = $ue ? (int)$ue->userid : $relateduserid;
            $roleid = null;
            $ras = $DB->get_records_select(
                'role_assignments',
                'userid = :userid AND contextid = :contextid',
                ['userid' => $userid, 'contextid' => (int)($log['contextid'] ?? 0)],
                'id ASC',
                'id, roleid',
                0,
                1
            );
            if ($ras) {
                $roleid = (int)reset($ras)->roleid;
            } else if ($ue) {
                // No role (yet): the enrolment method's default role is the best we know.
                $enrolroleid = $DB->get_field('enrol', 'roleid', ['id' => $ue->enrolid]);
                $roleid = $enrolroleid ? (int)$enrolroleid : null;
            }
            return [
                'eventname' => $eventname,
                'enrollmentid' => (int)($log['objectid'] ?? 0),
                'userid' => $userid,
                'courseid' => (int)($log['courseid'] ?? 0),
                'roleid' => $roleid,
                'status' => $ue ? (int)$ue->status : null,
                'timestart' => $ue ? (int)$ue->timestart : null,
                'timeend' => $ue ? (int)$ue->timeend : null,
                'timecreated' => $ue ? (int)$ue->timecreated : $timecreated,
            ];
        }

        // Type grade_updated: everything was captured by the observer from the event's grade object.
        $extra = $log['_ferry'] ?? [];
        return [
            'eventname' => $eventname,
            'gradeid' => (int)($log['objectid'] ?? 0),
            'userid' => $relateduserid,
            'itemid' => (int)($log['gradeitem'] ?? $log['other']['itemid'] ?? 0),
            'itemname' => $extra['itemname'] ?? null,
            'finalgrade' => $log['finalgrade'] ?? $log['other']['finalgrade'] ?? null,
            'feedback' => $extra['feedback'] ?? null,
            'grader' => (int)($extra['grader'] ?? $log['userid'] ?? 0),
            'timecreated' => $timecreated,
            'timemodified' => (int)($extra['timemodified'] ?? $timecreated),
        ];
    }

    /**
     * POSTs JSON to ferry through Moodle's \curl (proxy settings and HTTP security apply).
     *
     * @param string $path endpoint path
     * @param array $body
     * @param bool $typed true for a per-type endpoint (there a 404 means "unknown type": park)
     * @return array outcome (ok, retry, park), status, error
     */
    protected function post_json(string $path, array $body, bool $typed): array {
        $url = rtrim(trim((string)$this->config->url), '/') . $path;
        $timeout = max(1, (int)($this->config->timeout ?? 10) ?: 10);
        $json = json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
            | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PRESERVE_ZERO_FRACTION);

        $curl = new \curl();
        $curl->setHeader([
            'Content-Type: application/json',
            'Accept: application/json',
            'X-Moodle-Token: ' . (string)($this->config->token ?? ''),
        ]);
        $response = $curl->post($url, $json, [
            'CURLOPT_TIMEOUT' => $timeout,
            'CURLOPT_CONNECTTIMEOUT' => min(5, $timeout),
        ]);
        $info = $curl->get_info();
        $status = (int)($info['http_code'] ?? 0);
        $errno = (int)$curl->get_errno();

        if ($status === 0 || $errno) {
            // No HTTP answer: connection refused, timeout, DNS, or blocked by HTTP security
            // (then \curl returns the reason without a status or errno).
            $reason = trim((string)($curl->error ?: $response)) ?: 'no response';
            $outcome = 'retry';
            $error = $errno ? "cURL error {$errno}: {$reason}" : $reason;
        } else if ($status >= 200 && $status < 300) {
            $outcome = 'ok';
            $error = null;
        } else {
            $retry4xx = $typed ? array_diff(self::RETRY_4XX, [404]) : self::RETRY_4XX;
            $outcome = ($status >= 400 && $status < 500 && !in_array($status, $retry4xx)) ? 'park' : 'retry';
            $error = "HTTP {$status} from {$path}: " . \core_text::substr(trim((string)$response), 0, 500);
        }

        $this->stats['requests'][] = ['path' => $path, 'status' => $status, 'outcome' => $outcome,
            'count' => isset($body['logs']) ? count($body['logs']) : 1,
            'response' => json_decode((string)$response, true)];
        if ($error !== null) {
            $this->stats['error'] = $error;
        }
        return ['outcome' => $outcome, 'status' => $status, 'error' => $error];
    }

    /**
     * Keeps rows for later: attempts + 1, exponential backoff, last error.
     *
     * @param \stdClass[] $rows
     * @param string|null $error
     * @return void
     */
    protected function fail(array $rows, ?string $error): void {
        global $DB;
        foreach ($rows as $row) {
            $attempts = (int)$row->attempts + 1;
            $delay = min(self::BACKOFF_MAX, self::BACKOFF_BASE * (2 ** min(20, $attempts - 1)));
            $DB->update_record(observer::TABLE, (object)[
                'id' => $row->id,
                'attempts' => $attempts,
                'nextattempt' => $this->now() + $delay,
                'lasterror' => self::clip($error),
            ]);
            $this->stats['failed']++;
        }
    }

    /**
     * Parks a row ferry rejected: kept with its error, no longer sent.
     *
     * @param \stdClass $row
     * @param string|null $error
     * @return void
     */
    protected function park(\stdClass $row, ?string $error): void {
        global $DB;
        $DB->update_record(observer::TABLE, (object)[
            'id' => $row->id,
            'attempts' => (int)$row->attempts + 1,
            'parked' => 1,
            'lasterror' => self::clip($error),
        ]);
        $this->stats['parked']++;
    }

    /**
     * One line for the task log.
     *
     * @param array $stats from flush()
     * @return string
     */
    public static function summary(array $stats): string {
        if (($stats['error'] ?? null) === 'notconfigured') {
            return 'local_ferry: no ferry URL configured, nothing sent';
        }
        if (($stats['error'] ?? null) === 'locked') {
            return 'local_ferry: another sender is running';
        }
        $line = "local_ferry: sent {$stats['sent']} events in {$stats['batches']} batches, "
            . "{$stats['typed']} per-type calls, parked {$stats['parked']}";
        return $stats['waiting'] ? $line . '; waiting for the retry backoff' : $line;
    }

    /**
     * Current time, or the fixed clock.
     *
     * @return int
     */
    protected function now(): int {
        return $this->now ?? time();
    }

    /**
     * Error text short enough for the log and the table.
     *
     * @param string|null $error
     * @return string|null
     */
    protected static function clip(?string $error): ?string {
        return $error === null ? null : \core_text::substr($error, 0, 1000);
    }
}
