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
 * Rows leave the outbox only after a 2xx. A transport error or a 5xx is expected during an outage:
 * it is recorded on the rows (attempts, next attempt with exponential backoff, last error) and
 * flush() returns normally, so Moodle's own task fail delay (doubling up to a day) never stacks on
 * top of this backoff. A row that ferry rejects with a 4xx is parked with its error instead of
 * blocking the queue.
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

    /** Start no request after this many seconds; the next task run carries on. */
    public const TIME_BUDGET = 50;

    /** Largest batch body in bytes, below ferry's default body limit of 1 MiB. */
    public const MAX_BATCH_BYTES = 900000;

    /** Largest batch size accepted from the settings. */
    public const MAX_BATCHSIZE = 1000;

    /**
     * 4xx answers that mean "wrong URL, token or too busy" rather than "bad row":
     * parking every row for a typo in the settings would need manual requeueing.
     */
    public const RETRY_4XX = [401, 403, 404, 405, 408, 425, 429];

    /** JSON flags of every body sent. */
    public const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE
        | JSON_PRESERVE_ZERO_FRACTION;

    /** @var array counters and request log of the last flush() */
    public $stats = [];

    /** @var float seconds this sender may spend starting requests (tests shorten it) */
    public $budget = self::TIME_BUDGET;

    /** @var int|null fixed clock for tests and the end-to-end script */
    protected $now = null;

    /** @var float microtime after which no request is started */
    protected $deadline = 0.0;

    /** @var \stdClass plugin config */
    protected $config;

    /**
     * Sends everything that is due. Never throws for a failed delivery: see the class comment.
     *
     * @param int|null $now clock override (tests); defaults to time()
     * @return array stats: sent, typed, parked, failed, batches, waiting, outoftime, error, requests
     */
    public function flush(?int $now = null): array {
        $this->now = $now;
        $this->stats = ['sent' => 0, 'typed' => 0, 'parked' => 0, 'failed' => 0, 'batches' => 0,
            'waiting' => false, 'outoftime' => false, 'error' => null, 'transient' => false, 'requests' => []];
        $this->config = (object)get_config('local_ferry');
        if (trim((string)($this->config->url ?? '')) === '') {
            $this->stats['error'] = 'notconfigured';
            return $this->stats;
        }
        $batchsize = (int)($this->config->batchsize ?? 100);
        $batchsize = $batchsize > 0 ? min(self::MAX_BATCHSIZE, $batchsize) : 100;

        // The adhoc and the scheduled task may run at once on sites with several cron runners;
        // one sender at a time keeps every row in exactly one request.
        $lock = \core\lock\lock_config::get_lock_factory('local_ferry')->get_lock('outbox', 0);
        if (!$lock) {
            $this->stats['error'] = 'locked';
            return $this->stats;
        }
        try {
            $this->deadline = microtime(true) + $this->budget;
            $this->send_due($batchsize);
            (new monitor())->after_flush($this->stats, $this->now());
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
     */
    protected function send_due(int $batchsize): void {
        global $DB;

        while (!$this->out_of_time()) {
            // Oldest first. The head decides: while it waits for its backoff the whole queue
            // waits, so later events never overtake earlier ones.
            $rows = $DB->get_records_select(observer::TABLE, 'parked = 0', [], 'id ASC', '*', 0, $batchsize);
            $rows = array_values($rows);
            if (!$rows) {
                return;
            }
            if ((int)$rows[0]->nextattempt > $this->now()) {
                $this->stats['waiting'] = true;
                return;
            }
            if (!$this->send_rows($rows)) {
                // Ferry is unreachable or failing: the rows carry the backoff, try again later.
                return;
            }
        }
    }

    /**
     * Whether the time budget is used up; checked before every request.
     *
     * @return bool
     */
    protected function out_of_time(): bool {
        if (microtime(true) < $this->deadline) {
            return false;
        }
        $this->stats['outoftime'] = true;
        return true;
    }

    /**
     * Sends rows as one batch (as many as fit the byte cap); isolates rows ferry rejects.
     *
     * @param \stdClass[] $rows oldest first
     * @return bool false after a transient failure (rows kept, backoff set)
     */
    protected function send_rows(array $rows): bool {
        [$rows, $logs] = $this->encode_logs($rows);
        if (!$rows) {
            return true;
        }
        $result = $this->post_batch($rows, $logs);
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
            if ($this->out_of_time()) {
                return true;
            }
            $single = $this->post_batch([$row], [$logs[$i]]);
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
     * Encodes the batch logs of the leading rows that fit MAX_BATCH_BYTES (at least one row).
     *
     * A row whose log cannot be encoded as JSON is parked: it would fail the same way every time.
     *
     * @param \stdClass[] $rows
     * @return array [rows that fit, their JSON logs]
     */
    protected function encode_logs(array $rows): array {
        $fit = [];
        $logs = [];
        // Room for {"logs":[...],"event_id":"moodle_batch_<40 hex>","timestamp":<10 digits>}.
        $bytes = 100;
        foreach ($rows as $row) {
            $json = json_encode(payloads::batch_log($row), self::JSON_FLAGS);
            if ($json === false) {
                $this->park($row, 'could not encode the event as JSON: ' . json_last_error_msg());
                continue;
            }
            if ($fit && $bytes + strlen($json) + 1 > self::MAX_BATCH_BYTES) {
                break;
            }
            $bytes += strlen($json) + 1;
            $fit[] = $row;
            $logs[] = $json;
        }
        return [$fit, $logs];
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
            // A row kept here goes out again with a later batch; ferry counts its log as a
            // duplicate by its idempotency key, then the per-type call is made.
            if (!$ok) {
                $this->fail([$row], $this->stats['error']);
                continue;
            }
            if ($this->out_of_time()) {
                continue;
            }
            $json = json_encode(payloads::typed($type, $row), self::JSON_FLAGS);
            $result = $json === false
                ? ['outcome' => 'park', 'error' => 'could not encode the event as JSON: ' . json_last_error_msg()]
                : $this->post(self::TYPE_PATH . $type, $json, 1, true);
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
     * @param string[] $logs their JSON logs
     * @return array outcome (ok, retry, park), status, error
     */
    protected function post_batch(array $rows, array $logs): array {
        $keys = [];
        foreach ($rows as $row) {
            $keys[] = $row->id . ':' . $row->timecreated;
        }
        // Same rows, same id: a batch resent after a lost answer is recognised as a whole.
        $eventid = 'moodle_batch_' . sha1(get_site_identifier() . '|' . implode(',', $keys));
        // The timestamp (send time) is optional in ferry's contract; the observer plugin ferry
        // replaces always sent it, so receivers written against that traffic accept it too.
        $json = '{"logs":[' . implode(',', $logs) . '],"event_id":"' . $eventid . '","timestamp":' . $this->now() . '}';
        return $this->post(self::BATCH_PATH, $json, count($rows), false);
    }

    /**
     * POSTs JSON to ferry and classifies the answer.
     *
     * @param string $path endpoint path
     * @param string $json body
     * @param int $count events in the body (for the stats)
     * @param bool $typed true for a per-type endpoint (there a 404 means "unknown type": park)
     * @return array outcome (ok, retry, park), status, error
     */
    protected function post(string $path, string $json, int $count, bool $typed): array {
        $answer = transport::request($this->config, 'POST', $path, $json);
        $status = $answer['status'];
        if ($answer['error'] === null) {
            $outcome = 'ok';
        } else {
            $retry4xx = $typed ? array_diff(self::RETRY_4XX, [404]) : self::RETRY_4XX;
            $outcome = ($status >= 400 && $status < 500 && !in_array($status, $retry4xx)) ? 'park' : 'retry';
        }
        $this->stats['requests'][] = ['path' => $path, 'status' => $status, 'outcome' => $outcome,
            'count' => $count, 'bytes' => strlen($json), 'response' => json_decode($answer['body'], true)];
        if ($answer['error'] !== null) {
            $this->stats['error'] = $answer['error'];
        }
        if ($outcome === 'retry') {
            $this->stats['transient'] = true;
        }
        return ['outcome' => $outcome, 'status' => $status, 'error' => $answer['error']];
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
            $DB->update_record(observer::TABLE, (object)[
                'id' => $row->id,
                'attempts' => $attempts,
                'nextattempt' => $this->now() + self::backoff($attempts),
                'lasterror' => self::clip($error),
            ]);
            $this->stats['failed']++;
        }
    }

    /**
     * Delay before the next attempt after this many failed ones: 1, 2, 4, ... minutes, at most an hour.
     *
     * @param int $attempts
     * @return int seconds
     */
    public static function backoff(int $attempts): int {
        return min(self::BACKOFF_MAX, self::BACKOFF_BASE * (2 ** min(20, max(0, $attempts - 1))));
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
        if (!empty($stats['transient'])) {
            $line .= "; delivery failed, {$stats['failed']} events kept for retry: {$stats['error']}";
        }
        if (!empty($stats['outoftime'])) {
            $line .= '; time budget used, the next run carries on';
        }
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
