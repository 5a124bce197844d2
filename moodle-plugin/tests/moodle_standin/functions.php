<?php
// moodle_standin (NOT Moodle): global functions of Moodle's lib/ that local_ferry calls.
// @license GNU GPL v3 or later

/**
 * As get_config().
 *
 * @param string $plugin
 * @param string|null $name
 * @return mixed
 */
function get_config($plugin, $name = null) {
    $plugin = $plugin ?: '';
    if ($name === null) {
        return (object)(\moodle_standin\standin::$config[$plugin] ?? []);
    }
    return \moodle_standin\standin::$config[$plugin][$name] ?? false;
}

/**
 * As set_config().
 *
 * @param string $name
 * @param mixed $value
 * @param string|null $plugin
 * @return bool
 */
function set_config($name, $value, $plugin = null) {
    global $CFG;
    if ($plugin === null || $plugin === '' || $plugin === 'core') {
        $CFG->$name = $value;
        $plugin = '';
    }
    if ($value === null) {
        unset(\moodle_standin\standin::$config[$plugin][$name]);
    } else {
        \moodle_standin\standin::$config[$plugin][$name] = (string)$value;
    }
    // Like Moodle, set_config() knows nothing of the plugin: no cache of the plugin is reset here,
    // so a test can show that the observer does not keep stale settings.
    return true;
}

/**
 * As unset_config().
 *
 * @param string $name
 * @param string|null $plugin
 * @return bool
 */
function unset_config($name, $plugin = null) {
    return set_config($name, null, $plugin);
}

/**
 * As get_string(): the plugin's own strings from its lang file, placeholders for core ones.
 *
 * @param string $identifier
 * @param string $component
 * @param mixed $a
 * @return string
 */
function get_string($identifier, $component = '', $a = null) {
    static $strings = null;
    if ($strings === null) {
        $string = [];
        include(STANDIN_PLUGIN_DIR . '/lang/en/local_ferry.php');
        $strings = $string;
    }
    if ($component === 'local_ferry') {
        if (!isset($strings[$identifier])) {
            throw new coding_exception("Invalid get_string() identifier: '$identifier' or component 'local_ferry'");
        }
        $text = $strings[$identifier];
    } else if ($component === 'admin' && $identifier === 'curlsecurityurlblocked') {
        $text = 'The URL is blocked.';
    } else {
        $text = "[[$identifier]]";
    }
    if ($a !== null) {
        if (is_object($a) || is_array($a)) {
            foreach ((array)$a as $key => $value) {
                if (is_scalar($value)) {
                    $text = str_replace('{$a->' . $key . '}', (string)$value, $text);
                }
            }
        } else {
            $text = str_replace('{$a}', (string)$a, $text);
        }
    }
    return $text;
}

/**
 * As mtrace(): kept in memory instead of printed.
 *
 * @param string $string
 * @param string $eol
 * @param int $sleep
 * @return void
 */
function mtrace($string, $eol = "\n", $sleep = 0) {
    \moodle_standin\standin::$mtrace[] = $string;
}

/**
 * As debugging(): kept in memory.
 *
 * @param string $message
 * @param int $level
 * @param array|null $backtrace
 * @return bool
 */
function debugging($message = '', $level = DEBUG_NORMAL, $backtrace = null) {
    \moodle_standin\standin::$debugging[] = $message;
    return true;
}

/**
 * As get_site_identifier().
 *
 * @return string
 */
function get_site_identifier() {
    global $CFG;
    return $CFG->siteidentifier;
}
