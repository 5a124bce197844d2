<?php
// PHPUnit: the sender verifies ferry's TLS certificate, against a real HTTPS server with a
// self-signed certificate (tls_server.php), on the moodle_standin (NOT Moodle).
// @license GNU GPL v3 or later

namespace local_ferry\tests;

use local_ferry\sender;

/**
 * TLS: an untrusted certificate means no request (and no token) leaves Moodle.
 *
 * @covers \local_ferry\transport
 */
class tls_test extends ferry_testcase {
    /** @var resource|null */
    protected static $tls = null;
    /** @var string */
    protected static $tlsdir = '';
    /** @var int */
    protected static $tlsport = 0;

    /**
     * Starts the HTTPS server.
     *
     * @return void
     */
    public static function setUpBeforeClass(): void {
        parent::setUpBeforeClass();
        self::$tlsdir = sys_get_temp_dir() . '/ferry_tls_' . getmypid() . '_' . bin2hex(random_bytes(4));
        mkdir(self::$tlsdir);
        self::$tlsport = self::free_port();
        $env = getenv();
        $env['TLS_DIR'] = self::$tlsdir;
        $env['TLS_PORT'] = (string)self::$tlsport;
        self::$tls = proc_open([PHP_BINARY, __DIR__ . '/tls_server.php'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes, null, $env);
        $deadline = microtime(true) + 20;
        while (!is_file(self::$tlsdir . '/ready') && microtime(true) < $deadline) {
            usleep(50000);
        }
        if (!is_file(self::$tlsdir . '/ready')) {
            throw new \RuntimeException('TLS test server did not start');
        }
    }

    /**
     * Stops the HTTPS server.
     *
     * @return void
     */
    public static function tearDownAfterClass(): void {
        if (self::$tls) {
            proc_terminate(self::$tls);
            proc_close(self::$tls);
        }
        array_map('unlink', glob(self::$tlsdir . '/*') ?: []);
        @rmdir(self::$tlsdir);
        parent::tearDownAfterClass();
    }

    /**
     * Requests the HTTPS server received.
     *
     * @return array
     */
    protected function tls_requests(): array {
        $file = self::$tlsdir . '/requests.jsonl';
        return is_file($file) ? array_values(array_filter(explode("\n", file_get_contents($file)))) : [];
    }

    public function test_untrusted_certificate_is_refused_and_the_token_never_sent(): void {
        set_config('url', 'https://127.0.0.1:' . self::$tlsport, 'local_ferry');
        $this->add_row(['eventname' => '\core\event\course_viewed', 'userid' => 4, 'courseid' => 2, 'timecreated' => 1]);

        $stats = (new sender())->flush(1765000000);

        $this->assertTrue($stats['transient']);
        $row = $this->outbox()[0];
        $this->assertSame('0', $row->parked, 'kept: the admin can fix the certificate and nothing is lost');
        $this->assertMatchesRegularExpression('/cURL error (60|51|35):/', $row->lasterror);
        $this->assertSame([], $this->tls_requests(), 'the handshake failed before any HTTP was sent');

        // Control: with \curl's defaults (what the plugin used to send with) the same server gets the
        // token. This proves the server works and the refusal above is the plugin's doing.
        $curl = new \curl();
        $curl->setHeader(['X-Moodle-Token: test-token']);
        $curl->post('https://127.0.0.1:' . self::$tlsport . '/webhook/moodle-events', '{}');
        $this->assertSame(202, (int)$curl->get_info()['http_code']);
        $requests = $this->tls_requests();
        $this->assertCount(1, $requests);
        $this->assertStringContainsString('X-Moodle-Token: test-token', json_decode($requests[0], true)['headers']);
    }

    public function test_connection_check_refuses_the_certificate_too(): void {
        $result = \local_ferry\connection::test('https://127.0.0.1:' . self::$tlsport);
        $this->assertFalse($result->ok);
        $this->assertMatchesRegularExpression('/cURL error (60|51|35)/', $result->message);
    }
}
