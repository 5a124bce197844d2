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
 * One HTTP request to ferry through Moodle's \curl (proxy settings and HTTP security apply).
 *
 * \curl::resetopt() turns certificate checks off and follows up to 10 redirects, keeping every
 * header, X-Moodle-Token included, across hosts. Every request here sets the opposite: certificates
 * and host names are verified (as core's download_file_content() does) and no redirect is followed;
 * a 3xx is reported as a configuration problem. The token goes in X-Moodle-Token only: curl strips
 * an Authorization header on redirects and proxies log it.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class transport {
    /** Longest timeout accepted from the settings, in seconds. */
    public const MAX_TIMEOUT = 60;

    /**
     * The \curl options of every request to ferry.
     *
     * @param int $timeout seconds
     * @return array
     */
    public static function curl_options(int $timeout): array {
        $timeout = max(1, min(self::MAX_TIMEOUT, $timeout));
        return [
            'CURLOPT_TIMEOUT' => $timeout,
            'CURLOPT_CONNECTTIMEOUT' => min(5, $timeout),
            'CURLOPT_SSL_VERIFYPEER' => 1,
            'CURLOPT_SSL_VERIFYHOST' => 2,
            'CURLOPT_FOLLOWLOCATION' => 0,
            'CURLOPT_MAXREDIRS' => 0,
        ];
    }

    /**
     * The configured request timeout, bounded.
     *
     * @param \stdClass $config plugin config
     * @return int seconds
     */
    public static function timeout(\stdClass $config): int {
        $timeout = (int)($config->timeout ?? 10);
        return $timeout > 0 ? min(self::MAX_TIMEOUT, $timeout) : 10;
    }

    /**
     * Sends a request and classifies the answer.
     *
     * @param \stdClass $config plugin config (url, token, timeout)
     * @param string $method GET or POST
     * @param string $path endpoint path
     * @param string|null $json request body (POST)
     * @return array status (int, 0 without an HTTP answer), errno, error (string|null), body (string)
     */
    public static function request(\stdClass $config, string $method, string $path, ?string $json = null): array {
        global $CFG;
        require_once($CFG->libdir . '/filelib.php');

        $url = rtrim(trim((string)$config->url), '/') . $path;
        $curl = new \curl();
        $curl->setHeader([
            'Content-Type: application/json',
            'Accept: application/json',
            'X-Moodle-Token: ' . (string)($config->token ?? ''),
        ]);
        $options = self::curl_options(self::timeout($config));
        $body = $method === 'GET' ? $curl->get($url, [], $options) : $curl->post($url, (string)$json, $options);
        $info = $curl->get_info();
        $status = (int)($info['http_code'] ?? 0);
        $errno = (int)$curl->get_errno();
        $body = is_string($body) ? $body : '';

        $error = null;
        if ($status === 0 || $errno) {
            // No HTTP answer: refused, timeout, DNS, TLS, or blocked by HTTP security (then \curl
            // returns the reason without a status or errno).
            $reason = trim((string)($curl->error ?: $body)) ?: 'no response';
            $error = $errno ? "cURL error {$errno}: {$reason}" : $reason;
            $status = 0;
        } else if ($status >= 300 && $status < 400) {
            $location = trim((string)($info['redirect_url'] ?? ''));
            $error = "HTTP {$status} from {$path}: ferry redirects to " . ($location ?: 'another address')
                . '; redirects are not followed, set the ferry URL to the final address';
        } else if ($status >= 400 || $status < 200) {
            $error = "HTTP {$status} from {$path}: " . \core_text::substr(trim($body), 0, 500);
        }
        return ['status' => $status, 'errno' => $errno, 'error' => $error, 'body' => $body];
    }
}
