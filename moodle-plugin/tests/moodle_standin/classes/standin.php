<?php
// moodle_standin (NOT Moodle): the stand-in's state and helpers for tests.
// @license GNU GPL v3 or later

namespace moodle_standin;

/**
 * State of the stand-in (config, admins, capability grants, modinfo, ...) and test helpers.
 */
class standin {
    /** @var array plugin config [plugin][name] => value; '' is core */
    public static $config = [];
    /** @var int[] site admin user ids */
    public static $siteadmins = [];
    /** @var array grants [capability][courseid][userid] => true */
    public static $grants = [];
    /** @var array modules per course: [courseid] => list of cm props */
    public static $courses = [];
    /** @var int get_fast_modinfo() calls */
    public static $modinfocalls = 0;
    /** @var int context_course::instance() calls */
    public static $coursecontextcalls = 0;
    /** @var string[] mtrace() output */
    public static $mtrace = [];
    /** @var string[] debugging() messages */
    public static $debugging = [];
    /** @var \core\message\message[] message_send() calls */
    public static $messages = [];
    /** @var string[] upgrade_plugin_savepoint() calls */
    public static $savepoints = [];

    /**
     * Fresh state and a fresh (or reopened) database.
     *
     * @param string $dbpath ':memory:' or a file (kept between runs, for the end-to-end script)
     * @return void
     */
    public static function reset(string $dbpath = ':memory:'): void {
        global $DB, $PAGE, $USER;
        self::$config = [];
        self::$siteadmins = [];
        self::$grants = [];
        self::$courses = [];
        self::$modinfocalls = 0;
        self::$coursecontextcalls = 0;
        self::$mtrace = [];
        self::$debugging = [];
        self::$messages = [];
        self::$savepoints = [];
        \moodle_standin\cron::$faildelay = [];
        \curl::$requests = [];
        $_POST = [];
        $_GET = [];
        \core\task\manager::$queued = [];
        \core\task\manager::$queuecalls = 0;
        \core\lock\lock_factory::$held = [];
        \core\session\manager::$loggedinas = false;
        \core_privacy\local\request\writer::$exported = [];
        $DB = new database($dbpath);
        $PAGE = (object)['requestorigin' => 'web', 'requestip' => '192.0.2.10'];
        $USER = (object)['id' => 0];
        if (class_exists('\local_ferry\observer', false)) {
            \local_ferry\observer::reset_caches();
        }
    }

    /**
     * Makes a user a site admin.
     *
     * @param int $userid
     * @return void
     */
    public static function make_siteadmin(int $userid): void {
        self::$siteadmins[] = $userid;
    }

    /**
     * Grants a capability to a user in a course.
     *
     * @param int $userid
     * @param int $courseid
     * @param string $capability
     * @return void
     */
    public static function grant(int $userid, int $courseid, string $capability = 'moodle/course:manageactivities'): void {
        self::$grants[$capability][$courseid][$userid] = true;
    }

    /**
     * Registers a course module for get_fast_modinfo().
     *
     * @param int $courseid
     * @param int $cmid
     * @param int $sectionid
     * @param string $modname
     * @param int $instance
     * @param string $name
     * @return void
     */
    public static function add_cm(int $courseid, int $cmid, int $sectionid, string $modname, int $instance,
            string $name): void {
        self::$courses[$courseid][] = ['id' => $cmid, 'section' => $sectionid, 'modname' => $modname,
            'instance' => $instance, 'name' => $name];
    }

    /**
     * An event object from a get_data() row (e.g. from fixtures/moodle/get_data_examples.json).
     *
     * For user_graded, $grade is the grade_grade the real event carries (with ->grade_item).
     *
     * @param array $data
     * @param object|null $grade
     * @return \core\event\base
     */
    public static function event(array $data, $grade = null): \core\event\base {
        if (($data['eventname'] ?? '') === '\core\event\user_graded') {
            $event = \core\event\user_graded::standin_from_data($data);
            $event->standin_set_grade($grade ?? (object)[
                'id' => $data['objectid'] ?? 0,
                'itemid' => $data['other']['itemid'] ?? 0,
                'userid' => $data['relateduserid'] ?? 0,
                'finalgrade' => $data['other']['finalgrade'] ?? null,
                'feedback' => null,
                'usermodified' => $data['userid'] ?? 0,
                'timemodified' => $data['timecreated'] ?? 0,
                'grade_item' => null,
            ]);
            return $event;
        }
        return \moodle_standin\event::standin_from_data($data);
    }
}
