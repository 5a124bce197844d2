<?php
// moodle_standin (NOT Moodle): what the admin tooling of local_ferry uses: messaging, the Check API,
// session key and capability checks, XMLDB upgrade calls, formatting helpers.
// @license GNU GPL v3 or later

namespace core\message {

/**
 * Stand-in of \core\message\message (a plain data object).
 */
class message {
}

}

namespace core\check {

/**
 * Stand-in of \core\check\result.
 */
class result {
    /** Status values, as in Moodle. */
    const NA = 'na';
    /** OK. */
    const OK = 'ok';
    /** Info. */
    const INFO = 'info';
    /** Unknown. */
    const UNKNOWN = 'unknown';
    /** Warning. */
    const WARNING = 'warning';
    /** Error. */
    const ERROR = 'error';
    /** Critical. */
    const CRITICAL = 'critical';

    /** @var string */
    protected $status;
    /** @var string */
    protected $summary;
    /** @var string */
    protected $details;

    /**
     * Constructor.
     *
     * @param string $status
     * @param string $summary
     * @param string $details
     */
    public function __construct($status, $summary, $details = '') {
        $this->status = $status;
        $this->summary = $summary;
        $this->details = $details;
    }

    /**
     * Status.
     *
     * @return string
     */
    public function get_status(): string {
        return $this->status;
    }

    /**
     * Summary.
     *
     * @return string
     */
    public function get_summary(): string {
        return $this->summary;
    }

    /**
     * Details.
     *
     * @return string
     */
    public function get_details(): string {
        return $this->details;
    }
}

/**
 * Stand-in of \core\check\check.
 */
abstract class check {
    /**
     * The result.
     *
     * @return result
     */
    abstract public function get_result(): result;

    /**
     * Link to more.
     *
     * @return \action_link|null
     */
    public function get_action_link(): ?\action_link {
        return null;
    }
}

}

namespace moodle_standin {

/**
 * Runs queued adhoc tasks the way Moodle's cron does, fail delay included: a task that throws
 * stays queued with faildelay doubled (60 s first, at most 86,400 s); one that returns is removed.
 */
class cron {
    /** @var array faildelay per queued task (spl_object_id) */
    public static $faildelay = [];

    /**
     * Runs every queued adhoc task once.
     *
     * @return array [ran, failed]
     */
    public static function run_adhoc_tasks(): array {
        $ran = 0;
        $failed = 0;
        foreach (\core\task\manager::$queued as $i => $task) {
            $ran++;
            $id = spl_object_id($task);
            try {
                $task->execute();
                unset(\core\task\manager::$queued[$i], self::$faildelay[$id]);
            } catch (\Throwable $e) {
                $failed++;
                $delay = self::$faildelay[$id] ?? 0;
                self::$faildelay[$id] = $delay ? min(86400, $delay * 2) : 60;
            }
        }
        \core\task\manager::$queued = array_values(\core\task\manager::$queued);
        return [$ran, $failed];
    }
}

}

namespace core {

/**
 * Stand-in of \core_user (only the no-reply user).
 */
class user {
    /**
     * As core_user::get_noreply_user().
     *
     * @return \stdClass
     */
    public static function get_noreply_user() {
        return (object)['id' => -10, 'username' => 'noreply'];
    }
}

}

namespace core\output {

/**
 * Stand-in of \core\output\notification (constants only).
 */
class notification {
    /** Success. */
    const NOTIFY_SUCCESS = 'success';
}

}

namespace {

    class_alias(\core\user::class, 'core_user');

    /**
     * Stand-in of required_capability_exception.
     */
    class required_capability_exception extends moodle_exception {
    }

    /**
     * Stand-in of action_link.
     */
    class action_link {
        /** @var moodle_url */
        public $url;
        /** @var string */
        public $text;

        /**
         * Constructor.
         *
         * @param moodle_url $url
         * @param string $text
         */
        public function __construct($url, $text) {
            $this->url = $url;
            $this->text = $text;
        }
    }

    /**
     * Stand-in of xmldb_table.
     */
    class xmldb_table {
        /** @var string */
        public $name;

        /**
         * Constructor.
         *
         * @param string $name
         */
        public function __construct($name) {
            $this->name = $name;
        }
    }

    /**
     * Stand-in of xmldb_field.
     */
    class xmldb_field {
        /** @var string */
        public $name;
        /** @var mixed */
        public $default;

        /**
         * Constructor, as in Moodle.
         *
         * @param string $name
         * @param int|null $type
         * @param string|null $precision
         * @param bool|null $unsigned
         * @param bool|null $notnull
         * @param bool|null $sequence
         * @param mixed $default
         * @param string|null $previous
         */
        public function __construct($name, $type = null, $precision = null, $unsigned = null, $notnull = null,
                $sequence = null, $default = null, $previous = null) {
            $this->name = $name;
            $this->default = $default;
        }
    }

    /**
     * Stand-in of xmldb_index.
     */
    class xmldb_index {
        /** @var string */
        public $name;
        /** @var string[] */
        public $fields;

        /**
         * Constructor.
         *
         * @param string $name
         * @param bool|null $type
         * @param array $fields
         */
        public function __construct($name, $type = null, $fields = []) {
            $this->name = $name;
            $this->fields = $fields;
        }
    }

    /**
     * As upgrade_plugin_savepoint(): recorded.
     *
     * @param bool $result
     * @param int $version
     * @param string $type
     * @param string $plugin
     * @return void
     */
    function upgrade_plugin_savepoint($result, $version, $type, $plugin) {
        \moodle_standin\standin::$savepoints[] = "{$type}_{$plugin}:{$version}";
    }

    /**
     * As has_any_capability().
     *
     * @param string[] $capabilities
     * @param context $context
     * @param int|stdClass|null $user
     * @param bool $doanything
     * @return bool
     */
    function has_any_capability(array $capabilities, context $context, $user = null, $doanything = true) {
        foreach ($capabilities as $capability) {
            if (has_capability($capability, $context, $user, $doanything)) {
                return true;
            }
        }
        return false;
    }

    /**
     * As require_capability().
     *
     * @param string $capability
     * @param context $context
     * @return void
     * @throws required_capability_exception
     */
    function require_capability($capability, context $context) {
        if (!has_capability($capability, $context)) {
            throw new required_capability_exception('nopermissions', '', '', $capability);
        }
    }

    /**
     * As require_sesskey(): the request's sesskey parameter must match sesskey().
     *
     * @return void
     * @throws moodle_exception
     */
    function require_sesskey() {
        if (($_POST['sesskey'] ?? $_GET['sesskey'] ?? null) !== sesskey()) {
            throw new moodle_exception('invalidsesskey', 'error');
        }
    }

    /**
     * As get_admins(): the stand-in's site admins as user records.
     *
     * @return stdClass[]
     */
    function get_admins() {
        $admins = [];
        foreach (\moodle_standin\standin::$siteadmins as $id) {
            $admins[$id] = (object)['id' => $id, 'username' => "admin$id"];
        }
        return $admins;
    }

    /**
     * As message_send(): recorded in standin::$messages.
     *
     * @param \core\message\message $message
     * @return int
     */
    function message_send(\core\message\message $message) {
        \moodle_standin\standin::$messages[] = $message;
        return count(\moodle_standin\standin::$messages);
    }

    /**
     * As userdate() (UTC, fixed format).
     *
     * @param int $date
     * @return string
     */
    function userdate($date) {
        return gmdate('Y-m-d H:i', (int)$date) . ' UTC';
    }

    /**
     * As format_time(): a duration in words (simplified).
     *
     * @param int $totalsecs
     * @return string
     */
    function format_time($totalsecs) {
        $totalsecs = abs((int)$totalsecs);
        if ($totalsecs >= 3600) {
            return intdiv($totalsecs, 3600) . ' hours ' . intdiv($totalsecs % 3600, 60) . ' mins';
        }
        return $totalsecs >= 60 ? intdiv($totalsecs, 60) . ' mins' : $totalsecs . ' secs';
    }

    /**
     * As s().
     *
     * @param mixed $var
     * @return string
     */
    function s($var) {
        return htmlspecialchars((string)$var, ENT_QUOTES | ENT_HTML401 | ENT_SUBSTITUTE);
    }
}
