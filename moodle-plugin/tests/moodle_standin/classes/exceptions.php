<?php
// moodle_standin (NOT Moodle): exception classes of lib/setuplib.php.
// @license GNU GPL v3 or later

/**
 * Stand-in of Moodle's moodle_exception.
 */
class moodle_exception extends \Exception {
    /** @var string */
    public $errorcode;
    /** @var string */
    public $module;
    /** @var mixed */
    public $a;
    /** @var string|null */
    public $debuginfo;

    /**
     * Constructor, as in Moodle.
     *
     * @param string $errorcode
     * @param string $module
     * @param string $link
     * @param mixed $a
     * @param string|null $debuginfo
     */
    public function __construct($errorcode, $module = '', $link = '', $a = null, $debuginfo = null) {
        $this->errorcode = $errorcode;
        $this->module = $module;
        $this->a = $a;
        $this->debuginfo = $debuginfo;
        parent::__construct(get_string($errorcode, $module ?: 'error', $a));
    }
}

/**
 * Stand-in of Moodle's coding_exception.
 */
class coding_exception extends moodle_exception {
    /**
     * Constructor, as in Moodle.
     *
     * @param string $hint
     * @param string|null $debuginfo
     */
    public function __construct($hint, $debuginfo = null) {
        $this->errorcode = 'codingerror';
        \Exception::__construct('Coding error detected, it must be fixed by a programmer: ' . $hint);
    }
}

/**
 * Stand-in of Moodle's dml_exception.
 */
class dml_exception extends moodle_exception {
    /**
     * Constructor.
     *
     * @param string $message
     */
    public function __construct($message) {
        $this->errorcode = 'dmlerror';
        \Exception::__construct($message);
    }
}

/**
 * Stand-in of Moodle's core_text (multibyte helpers).
 */
class core_text {
    /**
     * Multibyte substr.
     *
     * @param string $text
     * @param int $start
     * @param int|null $len
     * @return string
     */
    public static function substr($text, $start, $len = null) {
        return mb_substr((string)$text, $start, $len, 'UTF-8');
    }
}
