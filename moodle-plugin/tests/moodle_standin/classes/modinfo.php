<?php
// moodle_standin (NOT Moodle): get_fast_modinfo() over modules registered by the test.
// @license GNU GPL v3 or later

/**
 * Stand-in of cm_info (the read-only properties local_ferry uses).
 */
class cm_info {
    /** @var int cmid */
    public $id;
    /** @var int course id */
    public $course;
    /** @var int section id (course_sections.id) */
    public $section;
    /** @var int section number */
    public $sectionnum;
    /** @var string module type, e.g. quiz */
    public $modname;
    /** @var int activity instance id */
    public $instance;
    /** @var string activity name */
    public $name;

    /**
     * Constructor.
     *
     * @param array $props
     */
    public function __construct(array $props) {
        foreach ($props as $key => $value) {
            $this->$key = $value;
        }
    }
}

/**
 * Stand-in of course_modinfo.
 */
class course_modinfo {
    /** @var cm_info[] by cmid */
    protected $cms = [];

    /**
     * Constructor.
     *
     * @param cm_info[] $cms
     */
    public function __construct(array $cms) {
        $this->cms = $cms;
    }

    /**
     * As course_modinfo::get_cms().
     *
     * @return cm_info[]
     */
    public function get_cms() {
        return $this->cms;
    }

    /**
     * As course_modinfo::get_cm(): throws for an unknown cmid.
     *
     * @param int $cmid
     * @return cm_info
     */
    public function get_cm($cmid) {
        if (!isset($this->cms[$cmid])) {
            throw new moodle_exception('invalidcoursemoduleid', 'error', '', $cmid);
        }
        return $this->cms[$cmid];
    }

    /**
     * As course_modinfo::get_instances_of().
     *
     * @param string $modname
     * @return cm_info[] by instance id
     */
    public function get_instances_of($modname) {
        $result = [];
        foreach ($this->cms as $cm) {
            if ($cm->modname === $modname) {
                $result[$cm->instance] = $cm;
            }
        }
        return $result;
    }
}

/**
 * As get_fast_modinfo(); unknown courses throw like Moodle's for a missing course.
 *
 * @param int|stdClass $courseorid
 * @param int $userid
 * @param bool $resetonly
 * @return course_modinfo
 */
function get_fast_modinfo($courseorid, $userid = 0, $resetonly = false) {
    $courseid = is_object($courseorid) ? (int)$courseorid->id : (int)$courseorid;
    \moodle_standin\standin::$modinfocalls++;
    if (!isset(\moodle_standin\standin::$courses[$courseid])) {
        throw new dml_exception("Can not find data record in database table course.");
    }
    $cms = [];
    foreach (\moodle_standin\standin::$courses[$courseid] as $props) {
        $cms[$props['id']] = new cm_info($props + ['course' => $courseid]);
    }
    return new course_modinfo($cms);
}
