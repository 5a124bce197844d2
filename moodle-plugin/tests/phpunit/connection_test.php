<?php
// PHPUnit tests of \local_ferry\connection (the test-connection check), over real HTTP,
// against the moodle_standin (NOT Moodle).
// @license GNU GPL v3 or later

namespace local_ferry\tests;

use local_ferry\connection;

/**
 * Test connection: GET /health and plain explanations.
 *
 * @covers \local_ferry\connection
 */
class connection_test extends ferry_testcase {
    public function test_health_ok(): void {
        $this->respond(['/health' => [200]]);
        $result = connection::test();
        $this->assertTrue($result->ok);
        $this->assertSame(200, $result->status);
        $this->assertSame('GET', $this->requests()[0]['method']);
        $this->assertSame('/health', $this->requests()[0]['path']);
    }

    public function test_blocked_by_http_security_is_explained(): void {
        global $CFG;
        $CFG->curlsecurityblockedhosts = "127.0.0.0/8\nlocalhost";
        $CFG->curlsecurityallowedport = "443\n80";
        $result = connection::test();
        $this->assertFalse($result->ok);
        $this->assertStringContainsString('The URL is blocked.', $result->message);
        $this->assertStringContainsString('HTTP security', $result->hint);
        $this->assertStringContainsString('cURL blocked hosts list', $result->hint);
        $this->assertStringContainsString('cURL allowed ports list', $result->hint);
        $this->assertSame([], $this->requests());
    }

    public function test_unreachable_local_address_gets_the_hint(): void {
        $result = connection::test('http://127.0.0.1:' . self::free_port());
        $this->assertFalse($result->ok);
        $this->assertStringContainsString('cURL error 7', $result->message);
        $this->assertNotNull($result->hint);
    }

    public function test_bad_status(): void {
        $this->respond(['/health' => [503]]);
        $result = connection::test();
        $this->assertFalse($result->ok);
        $this->assertStringContainsString('503', $result->message);
    }

    public function test_no_url(): void {
        set_config('url', '', 'local_ferry');
        $this->assertSame(get_string('test_nourl', 'local_ferry'), connection::test()->message);
    }

    public function test_needs_allowlist(): void {
        $this->assertTrue(connection::needs_allowlist('http://127.0.0.1:8000'));
        $this->assertTrue(connection::needs_allowlist('http://localhost'));
        $this->assertTrue(connection::needs_allowlist('http://10.1.2.3'));
        $this->assertTrue(connection::needs_allowlist('http://192.168.1.5'));
        $this->assertTrue(connection::needs_allowlist('https://ferry.example.org:8443'));
        $this->assertFalse(connection::needs_allowlist('https://ferry.example.org'));
        $this->assertFalse(connection::needs_allowlist('http://93.184.216.34:80'));
    }
}
