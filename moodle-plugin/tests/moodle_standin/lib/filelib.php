<?php
// moodle_standin (NOT Moodle): the \curl class of Moodle's lib/filelib.php, over real PHP curl.
// Same public API (setHeader, resetHeader, setopt, resetopt, get, post, get_info, get_errno, $error),
// the same defaults as Moodle's resetopt() (certificates NOT verified, redirects followed, up to 10),
// options passed to get()/post() merged into the handle's options as Moodle does, and the same
// HTTP security behaviour: a blocked URL returns the reason with no errno and no http_code.
// @license GNU GPL v3 or later

/**
 * Stand-in of Moodle's curl class.
 */
class curl {
    /** @var string last error */
    public $error = '';
    /** @var int last curl errno */
    public $errno = 0;
    /** @var array last curl_getinfo() */
    public $info = [];
    /** @var array request headers */
    protected $header = [];
    /** @var bool */
    protected $ignoresecurity = false;
    /** @var array CURLOPT_* name => value, as Moodle keeps them */
    protected $options = [];
    /** @var array every request made: url, options, headers (tests inspect them) */
    public static $requests = [];

    /**
     * Constructor, as in Moodle.
     *
     * @param array $settings e.g. ['ignoresecurity' => true]
     */
    public function __construct($settings = []) {
        $this->ignoresecurity = !empty($settings['ignoresecurity']);
        $this->resetopt();
    }

    /**
     * As curl::resetopt(): Moodle's defaults, verbatim in substance.
     *
     * @return void
     */
    public function resetopt() {
        $this->options = [
            'CURLOPT_USERAGENT' => 'MoodleBot/1.0',
            'CURLOPT_HEADER' => 0,
            'CURLOPT_NOBODY' => 0,
            'CURLOPT_FOLLOWLOCATION' => 1,
            'CURLOPT_MAXREDIRS' => 10,
            'CURLOPT_ENCODING' => '',
            'CURLOPT_RETURNTRANSFER' => 1,
            'CURLOPT_SSL_VERIFYPEER' => 0,
            'CURLOPT_SSL_VERIFYHOST' => 2,
            'CURLOPT_CONNECTTIMEOUT' => 30,
        ];
    }

    /**
     * As curl::setopt(): names with or without the CURLOPT_ prefix.
     *
     * @param array $options
     * @return void
     */
    public function setopt($options = []) {
        foreach ((array)$options as $name => $value) {
            $name = strtoupper($name);
            if (strpos($name, 'CURLOPT_') !== 0) {
                $name = 'CURLOPT_' . $name;
            }
            $this->options[$name] = $value;
        }
    }

    /**
     * As curl::setHeader().
     *
     * @param string|array $header
     * @return void
     */
    public function setHeader($header) {
        foreach ((array)$header as $value) {
            $value = preg_replace('/[\r\n]/', '', $value);
            if (!in_array($value, $this->header, true)) {
                $this->header[] = $value;
            }
        }
    }

    /**
     * As curl::resetHeader().
     *
     * @return void
     */
    public function resetHeader() {
        $this->header = [];
    }

    /**
     * As curl::get().
     *
     * @param string $url
     * @param array $params
     * @param array $options
     * @return string|bool
     */
    public function get($url, $params = [], $options = []) {
        $options['CURLOPT_HTTPGET'] = 1;
        if (!empty($params)) {
            $url .= (stripos($url, '?') !== false) ? '&' : '?';
            $url .= http_build_query($params, '', '&');
        }
        return $this->request($url, $options);
    }

    /**
     * As curl::post(): a string is the raw body.
     *
     * @param string $url
     * @param array|string $params
     * @param array $options
     * @return string|bool
     */
    public function post($url, $params = '', $options = []) {
        $options['CURLOPT_POST'] = 1;
        $options['CURLOPT_POSTFIELDS'] = $params;
        return $this->request($url, $options);
    }

    /**
     * As curl::get_info().
     *
     * @return array
     */
    public function get_info() {
        return $this->info;
    }

    /**
     * As curl::get_errno().
     *
     * @return int
     */
    public function get_errno() {
        return $this->errno;
    }

    /**
     * Moodle's default-ish check: blocked hosts (names, IPv4 and CIDR) and allowed ports.
     *
     * @param string $url
     * @return bool
     */
    protected function url_is_blocked(string $url): bool {
        global $CFG;
        $host = strtolower(trim((string)parse_url($url, PHP_URL_HOST), '[]'));
        $port = parse_url($url, PHP_URL_PORT) ?: (parse_url($url, PHP_URL_SCHEME) === 'https' ? 443 : 80);
        $allowedports = array_filter(array_map('trim', explode("\n", (string)($CFG->curlsecurityallowedport ?? ''))));
        if ($allowedports && !in_array((string)$port, $allowedports, true)) {
            return true;
        }
        $ip = filter_var($host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4) ? $host : null;
        foreach (array_filter(array_map('trim', explode("\n", (string)($CFG->curlsecurityblockedhosts ?? '')))) as $entry) {
            if ($entry === $host) {
                return true;
            }
            if ($ip && strpos($entry, '/') !== false) {
                [$net, $bits] = explode('/', $entry);
                $mask = $bits == 0 ? 0 : (~0 << (32 - (int)$bits)) & 0xFFFFFFFF;
                if ((ip2long($ip) & $mask) === (ip2long($net) & $mask)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * One HTTP request with real PHP curl.
     *
     * @param string $url
     * @param array $options CURLOPT_* names (with or without the prefix) => value
     * @return string|bool body, or the error text
     */
    protected function request($url, $options = []) {
        $this->info = [];
        $this->error = '';
        $this->errno = 0;
        if (!$this->ignoresecurity && $this->url_is_blocked($url)) {
            $this->error = get_string('curlsecurityurlblocked', 'admin');
            return $this->error;
        }
        // Like Moodle's apply_opt(): per-request options are merged into (and stay in) the handle's.
        unset($this->options['CURLOPT_HTTPGET'], $this->options['CURLOPT_POST'], $this->options['CURLOPT_POSTFIELDS']);
        $this->setopt($options);
        self::$requests[] = ['url' => $url, 'options' => $this->options, 'headers' => $this->header];
        $ch = curl_init();
        curl_setopt($ch, CURLOPT_URL, $url);
        curl_setopt($ch, CURLOPT_HTTPHEADER, $this->header);
        foreach ($this->options as $name => $value) {
            curl_setopt($ch, constant($name), $value);
        }
        $ret = curl_exec($ch);
        $this->info = curl_getinfo($ch);
        $this->error = curl_error($ch);
        $this->errno = curl_errno($ch);
        curl_close($ch);
        return empty($this->error) ? $ret : $this->error;
    }
}
