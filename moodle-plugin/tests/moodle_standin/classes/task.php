<?php
// moodle_standin (NOT Moodle): \core\task classes; the manager records queued adhoc tasks.
// @license GNU GPL v3 or later

namespace core\task;

/**
 * Stand-in of \core\task\task_base.
 */
abstract class task_base {
    /** @var \stdClass|null */
    protected $customdata = null;

    /**
     * Task name.
     *
     * @return string
     */
    abstract public function get_name();

    /**
     * Runs the task.
     *
     * @return void
     */
    abstract public function execute();

    /**
     * Custom data.
     *
     * @param mixed $customdata
     * @return void
     */
    public function set_custom_data($customdata) {
        $this->customdata = $customdata;
    }

    /**
     * Custom data.
     *
     * @return mixed
     */
    public function get_custom_data() {
        return $this->customdata;
    }
}

/**
 * Stand-in of \core\task\adhoc_task.
 */
abstract class adhoc_task extends task_base {
    /**
     * Default name: the class name, as in Moodle.
     *
     * @return string
     */
    public function get_name() {
        return static::class;
    }
}

/**
 * Stand-in of \core\task\scheduled_task.
 */
abstract class scheduled_task extends task_base {
}

/**
 * Stand-in of \core\task\manager.
 */
class manager {
    /** @var adhoc_task[] queued tasks, in order */
    public static $queued = [];

    /** @var int calls of queue_adhoc_task() */
    public static $queuecalls = 0;

    /**
     * As manager::queue_adhoc_task(): with $checkforexisting an identical queued task is not added again.
     *
     * @param adhoc_task $task
     * @param bool $checkforexisting
     * @return bool|int
     */
    public static function queue_adhoc_task(adhoc_task $task, $checkforexisting = false) {
        self::$queuecalls++;
        if ($checkforexisting) {
            foreach (self::$queued as $queued) {
                if (get_class($queued) === get_class($task) && $queued->get_custom_data() == $task->get_custom_data()) {
                    return false;
                }
            }
        }
        self::$queued[] = $task;
        return count(self::$queued);
    }
}

namespace core\session;

/**
 * Stand-in of \core\session\manager.
 */
class manager {
    /** @var bool */
    public static $loggedinas = false;

    /**
     * As manager::is_loggedinas().
     *
     * @return bool
     */
    public static function is_loggedinas() {
        return self::$loggedinas;
    }
}

namespace core\lock;

/**
 * Stand-in of \core\lock\lock_config (in-process locks only).
 */
class lock_config {
    /**
     * As lock_config::get_lock_factory().
     *
     * @param string $type
     * @return lock_factory
     */
    public static function get_lock_factory($type) {
        return new lock_factory($type);
    }
}

/**
 * Stand-in of a lock factory.
 */
class lock_factory {
    /** @var array held locks by "type/resource" */
    public static $held = [];
    /** @var string */
    protected $type;

    /**
     * Constructor.
     *
     * @param string $type
     */
    public function __construct($type) {
        $this->type = $type;
    }

    /**
     * As lock_factory::get_lock(): false when held (no waiting in the stand-in).
     *
     * @param string $resource
     * @param int $timeout
     * @param int $maxlifetime
     * @return lock|false
     */
    public function get_lock($resource, $timeout, $maxlifetime = 86400) {
        $key = $this->type . '/' . $resource;
        if (isset(self::$held[$key])) {
            return false;
        }
        self::$held[$key] = true;
        return new lock($key);
    }
}

/**
 * Stand-in of \core\lock\lock.
 */
class lock {
    /** @var string */
    protected $key;

    /**
     * Constructor.
     *
     * @param string $key
     */
    public function __construct($key) {
        $this->key = $key;
    }

    /**
     * As lock::release().
     *
     * @return bool
     */
    public function release() {
        unset(lock_factory::$held[$this->key]);
        return true;
    }
}
