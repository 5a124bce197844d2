<?php
// moodle_standin (NOT Moodle): \core\event\base and the event classes local_ferry looks at.
// @license GNU GPL v3 or later

namespace core\event;

/**
 * Stand-in of \core\event\base: holds the get_data() array of a real event.
 */
abstract class base {
    /** Other level. */
    const LEVEL_OTHER = 0;
    /** Teaching level. */
    const LEVEL_TEACHING = 1;
    /** Participating level. */
    const LEVEL_PARTICIPATING = 2;

    /** @var array as returned by get_data() */
    protected $data = [];
    /** @var array|null logstore extras (only set on restored events) */
    protected $logextra = null;
    /** @var array record snapshots [table][id] */
    protected $recordsnapshots = [];

    /**
     * Builds an event from get_data() output (the stand-in's substitute for create()+trigger()).
     *
     * @param array $data
     * @return static
     */
    public static function standin_from_data(array $data) {
        $event = new static();
        $keys = ['eventname', 'component', 'action', 'target', 'objecttable', 'objectid', 'crud', 'edulevel',
            'contextid', 'contextlevel', 'contextinstanceid', 'userid', 'courseid', 'relateduserid', 'anonymous',
            'other', 'timecreated'];
        foreach ($keys as $key) {
            $event->data[$key] = $data[$key] ?? null;
        }
        return $event;
    }

    /**
     * As base::get_data().
     *
     * @return array
     */
    public function get_data() {
        return $this->data;
    }

    /**
     * As base::get_logextra().
     *
     * @return array|null
     */
    public function get_logextra() {
        return $this->logextra;
    }

    /**
     * As base::add_record_snapshot().
     *
     * @param string $tablename
     * @param \stdClass $record
     * @return void
     */
    public function add_record_snapshot($tablename, $record) {
        $this->recordsnapshots[$tablename][$record->id] = $record;
    }

    /**
     * As base::get_record_snapshot(): the snapshot, else a database read.
     *
     * @param string $tablename
     * @param int $id
     * @return \stdClass|false
     */
    public function get_record_snapshot($tablename, $id) {
        global $DB;
        if (isset($this->recordsnapshots[$tablename][$id])) {
            return $this->recordsnapshots[$tablename][$id];
        }
        return $DB->get_record($tablename, ['id' => $id]);
    }

    /**
     * Magic read access to the data, as in Moodle.
     *
     * @param string $name
     * @return mixed
     */
    public function __get($name) {
        return $this->data[$name] ?? null;
    }
}

/**
 * Stand-in of \core\event\user_graded (carries the grade_grade object).
 */
class user_graded extends base {
    /** @var object grade_grade with ->grade_item */
    protected $grade;

    /**
     * Sets the grade object (create_from_grade() in Moodle).
     *
     * @param object $grade
     * @return void
     */
    public function standin_set_grade($grade) {
        $this->grade = $grade;
    }

    /**
     * As user_graded::get_grade().
     *
     * @return object
     */
    public function get_grade() {
        return $this->grade;
    }
}

namespace moodle_standin;

/**
 * Any other event.
 */
class event extends \core\event\base {
}
