<?php
// moodle_standin (NOT Moodle): contexts, is_siteadmin(), has_capability().
// @license GNU GPL v3 or later

/**
 * Stand-in of \context. Context rows live in the stand-in's "context" table so SQL can join them.
 */
abstract class context {
    /** @var int */
    public $id;
    /** @var int */
    public $contextlevel;
    /** @var int */
    public $instanceid;

    /**
     * Finds or creates the context row.
     *
     * @param int $level
     * @param int $instanceid
     * @return static
     */
    protected static function standin_instance(int $level, int $instanceid) {
        global $DB;
        // Straight to PDO: context lookups are cached in Moodle, so they must not show up in $DB->calls.
        $stmt = $DB->pdo->prepare('SELECT id FROM context WHERE contextlevel = ? AND instanceid = ?');
        $stmt->execute([$level, $instanceid]);
        $id = $stmt->fetchColumn();
        if ($id === false) {
            $DB->pdo->prepare('INSERT INTO context (contextlevel, instanceid) VALUES (?, ?)')->execute([$level, $instanceid]);
            $id = $DB->pdo->lastInsertId();
        }
        $id = (int)$id;
        $context = new static();
        $context->id = $id;
        $context->contextlevel = $level;
        $context->instanceid = $instanceid;
        return $context;
    }

    /**
     * As context::instance_by_id().
     *
     * @param int $id
     * @param int $strictness
     * @return context|false
     */
    public static function instance_by_id($id, $strictness = MUST_EXIST) {
        global $DB;
        $record = $DB->get_record('context', ['id' => $id], '*', $strictness);
        if (!$record) {
            return false;
        }
        $class = [CONTEXT_SYSTEM => 'context_system', CONTEXT_USER => 'context_user',
            CONTEXT_COURSE => 'context_course', CONTEXT_MODULE => 'context_module'][(int)$record->contextlevel];
        $context = new $class();
        $context->id = (int)$record->id;
        $context->contextlevel = (int)$record->contextlevel;
        $context->instanceid = (int)$record->instanceid;
        return $context;
    }
}

/**
 * Stand-in of context_system.
 */
class context_system extends context {
    /**
     * As context_system::instance().
     *
     * @return context_system
     */
    public static function instance() {
        return self::standin_instance(CONTEXT_SYSTEM, 0);
    }
}

/**
 * Stand-in of context_user.
 */
class context_user extends context {
    /**
     * As context_user::instance().
     *
     * @param int $userid
     * @param int $strictness
     * @return context_user
     */
    public static function instance($userid, $strictness = MUST_EXIST) {
        return self::standin_instance(CONTEXT_USER, (int)$userid);
    }
}

/**
 * Stand-in of context_course.
 */
class context_course extends context {
    /**
     * As context_course::instance(); counts calls so tests can see the cache at work.
     *
     * @param int $courseid
     * @param int $strictness
     * @return context_course
     */
    public static function instance($courseid, $strictness = MUST_EXIST) {
        \moodle_standin\standin::$coursecontextcalls++;
        return self::standin_instance(CONTEXT_COURSE, (int)$courseid);
    }
}

/**
 * Stand-in of context_module.
 */
class context_module extends context {
    /**
     * As context_module::instance().
     *
     * @param int $cmid
     * @param int $strictness
     * @return context_module
     */
    public static function instance($cmid, $strictness = MUST_EXIST) {
        return self::standin_instance(CONTEXT_MODULE, (int)$cmid);
    }
}

/**
 * As is_siteadmin().
 *
 * @param int|stdClass|null $useroruserid
 * @return bool
 */
function is_siteadmin($useroruserid = null) {
    global $USER;
    $userid = is_object($useroruserid) ? (int)$useroruserid->id : (int)($useroruserid ?? $USER->id);
    return in_array($userid, \moodle_standin\standin::$siteadmins, true);
}

/**
 * As has_capability(); grants are set with standin::grant(). Site admins have every capability.
 *
 * @param string $capability
 * @param context $context
 * @param int|stdClass|null $user
 * @param bool $doanything
 * @return bool
 */
function has_capability($capability, context $context, $user = null, $doanything = true) {
    global $USER;
    $userid = is_object($user) ? (int)$user->id : (int)($user ?? $USER->id);
    if ($doanything && is_siteadmin($userid)) {
        return true;
    }
    $courseid = $context->contextlevel == CONTEXT_COURSE ? (int)$context->instanceid : 0;
    return !empty(\moodle_standin\standin::$grants[$capability][$courseid][$userid]);
}
