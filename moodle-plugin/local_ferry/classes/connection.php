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
 * Checks that Moodle can reach ferry: GET {url}/health through Moodle's \curl.
 *
 * Used by cli/test_connection.php and testconnection.php, so both see exactly what the
 * sender sees, including proxy settings and the HTTP security block list.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class connection {
    /**
     * Runs the check.
     *
     * @param string|null $url ferry base URL; defaults to the configured one
     * @return \stdClass ok (bool), status (int), message (string), hint (string|null)
     */
    public static function test(?string $url = null): \stdClass {
        global $CFG;
        require_once($CFG->libdir . '/filelib.php');

        $url = rtrim(trim($url ?? (string)get_config('local_ferry', 'url')), '/');
        $result = (object)['ok' => false, 'status' => 0, 'message' => '', 'hint' => null, 'url' => $url];
        if ($url === '') {
            $result->message = get_string('test_nourl', 'local_ferry');
            return $result;
        }
        $timeout = transport::timeout((object)get_config('local_ferry'));

        // The sender's options: certificates verified, no redirects followed.
        $curl = new \curl();
        $body = $curl->get($url . '/health', [], transport::curl_options($timeout));
        $info = $curl->get_info();
        $result->status = (int)($info['http_code'] ?? 0);
        $errno = (int)$curl->get_errno();

        if ($result->status >= 200 && $result->status < 300 && !$errno) {
            $result->ok = true;
            $result->message = get_string('test_ok', 'local_ferry', $url);
            return $result;
        }
        if ($result->status === 0 && !$errno && $curl->error !== '') {
            // Blocked before any network I/O: \curl reports it without errno or status.
            $result->message = get_string('test_blocked', 'local_ferry', trim((string)$curl->error));
            $result->hint = get_string('test_httpsecurity', 'local_ferry');
            return $result;
        }
        if ($result->status === 0) {
            $reason = trim("cURL error {$errno}: " . ($curl->error ?: $body));
            $result->message = get_string('test_unreachable', 'local_ferry', $reason);
        } else {
            $result->message = get_string('test_badstatus', 'local_ferry', $result->status);
        }
        if (self::needs_allowlist($url)) {
            $result->hint = get_string('test_httpsecurity', 'local_ferry');
        }
        return $result;
    }

    /**
     * Whether Moodle's default HTTP security settings would block this URL:
     * localhost, private or reserved addresses, or a port other than 80 and 443.
     *
     * @param string $url
     * @return bool
     */
    public static function needs_allowlist(string $url): bool {
        $host = strtolower(trim((string)parse_url($url, PHP_URL_HOST), '[]'));
        $port = parse_url($url, PHP_URL_PORT);
        if ($port !== null && $port !== false && !in_array((int)$port, [80, 443], true)) {
            return true;
        }
        if ($host === 'localhost' || substr($host, -10) === '.localhost') {
            return true;
        }
        if (filter_var($host, FILTER_VALIDATE_IP)) {
            return !filter_var($host, FILTER_VALIDATE_IP, FILTER_FLAG_NO_PRIV_RANGE | FILTER_FLAG_NO_RES_RANGE);
        }
        return false;
    }
}
