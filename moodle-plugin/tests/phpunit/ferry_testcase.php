<?php
// Shared PHPUnit base for local_ferry tests: fresh stand-in state per test, and a real HTTP
// receiver (php -S with receiver.php) standing in for ferry.
// @license GNU GPL v3 or later

namespace local_ferry\tests;

use moodle_standin\standin;

/**
 * Base test case.
 */
abstract class ferry_testcase extends \PHPUnit\Framework\TestCase {
    /** @var resource|null php -S process */
    protected static $server = null;
    /** @var int */
    protected static $port = 0;
    /** @var string receiver control/log directory */
    protected static $dir = '';

    /**
     * Starts the receiver once per test class.
     *
     * @return void
     */
    public static function setUpBeforeClass(): void {
        self::$dir = sys_get_temp_dir() . '/ferry_receiver_' . getmypid() . '_' . bin2hex(random_bytes(4));
        mkdir(self::$dir);
        self::$port = self::free_port();
        $env = getenv();
        $env['RECEIVER_DIR'] = self::$dir;
        self::$server = proc_open(
            [PHP_BINARY, '-S', '127.0.0.1:' . self::$port, __DIR__ . '/receiver.php'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes,
            null,
            $env
        );
        $deadline = microtime(true) + 10;
        while (microtime(true) < $deadline) {
            $conn = @fsockopen('127.0.0.1', self::$port, $errno, $errstr, 0.2);
            if ($conn) {
                fclose($conn);
                return;
            }
            usleep(50000);
        }
        throw new \RuntimeException('test receiver did not start');
    }

    /**
     * Stops the receiver.
     *
     * @return void
     */
    public static function tearDownAfterClass(): void {
        if (self::$server) {
            proc_terminate(self::$server);
            proc_close(self::$server);
            self::$server = null;
        }
        array_map('unlink', glob(self::$dir . '/*') ?: []);
        @rmdir(self::$dir);
    }

    /**
     * A TCP port nobody listens on right now.
     *
     * @return int
     */
    protected static function free_port(): int {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $name = stream_socket_get_name($socket, false);
        fclose($socket);
        return (int)substr($name, strrpos($name, ':') + 1);
    }

    /**
     * Fresh stand-in and receiver state; the plugin configured to send to the receiver.
     *
     * @return void
     */
    protected function setUp(): void {
        global $CFG;
        standin::reset();
        $CFG->curlsecurityblockedhosts = '';
        $CFG->curlsecurityallowedport = '';
        @unlink(self::$dir . '/requests.jsonl');
        $this->respond(['*' => [202]]);
        set_config('url', $this->receiver_url(), 'local_ferry');
        set_config('token', 'test-token', 'local_ferry');
        set_config('events', 'learning', 'local_ferry');
        set_config('skipstaff', 1, 'local_ferry');
        set_config('batchsize', 100, 'local_ferry');
        set_config('timeout', 5, 'local_ferry');
    }

    /**
     * Base URL of the receiver.
     *
     * @return string
     */
    protected function receiver_url(): string {
        return 'http://127.0.0.1:' . self::$port;
    }

    /**
     * Sets the receiver's answers: path => list of statuses ('*' for any other path).
     *
     * @param array $routes
     * @param array $extra location (for 3xx), delay_ms
     * @return void
     */
    protected function respond(array $routes, array $extra = []): void {
        file_put_contents(self::$dir . '/control.json', json_encode(['routes' => $routes] + $extra));
    }

    /**
     * Requests the receiver got since setUp().
     *
     * @return array
     */
    protected function requests(): array {
        $file = self::$dir . '/requests.jsonl';
        if (!is_file($file)) {
            return [];
        }
        return array_map(fn($line) => json_decode($line, true), array_filter(explode("\n", file_get_contents($file))));
    }

    /**
     * The real get_data() rows of fixtures/moodle/get_data_examples.json (a copy in tests/fixtures).
     *
     * @return array eventname => row
     */
    protected function fixtures(): array {
        $rows = json_decode(file_get_contents(__DIR__ . '/../fixtures/get_data_examples.json'), true);
        $byname = [];
        foreach ($rows as $row) {
            unset($row['_meta']);
            $byname[$row['eventname']] = $row;
        }
        return $byname;
    }

    /**
     * Outbox rows, oldest first.
     *
     * @return array
     */
    protected function outbox(): array {
        global $DB;
        return array_values($DB->get_records('local_ferry_outbox', null, 'id ASC'));
    }

    /**
     * Inserts an outbox row directly (as the observer would).
     *
     * @param array $payload event data
     * @param array $fields row fields to override
     * @return int id
     */
    protected function add_row(array $payload, array $fields = []): int {
        global $DB;
        return $DB->insert_record('local_ferry_outbox', (object)($fields + [
            'eventname' => $payload['eventname'],
            'userid' => (int)($payload['userid'] ?? 0),
            'relateduserid' => (int)($payload['relateduserid'] ?? 0),
            'contextid' => (int)($payload['contextid'] ?? 0),
            'payload' => json_encode($payload),
            'timecreated' => time(),
            'attempts' => 0,
            'nextattempt' => 0,
            'lasterror' => null,
            'parked' => 0,
        ]));
    }
}
