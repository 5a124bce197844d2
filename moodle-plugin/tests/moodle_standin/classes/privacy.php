<?php
// moodle_standin (NOT Moodle): the core_privacy API pieces a plugin provider uses.
// Interface signatures are copied from Moodle so PHP checks the provider implements them.
// @license GNU GPL v3 or later

namespace core_privacy\local\metadata;

/**
 * Stand-in of \core_privacy\local\metadata\collection.
 */
class collection {
    /** @var string */
    protected $component;
    /** @var array items: type, name, fields, summary */
    protected $items = [];

    /**
     * Constructor.
     *
     * @param string $component
     */
    public function __construct($component) {
        $this->component = $component;
    }

    /**
     * As collection::add_database_table().
     *
     * @param string $name
     * @param array $privacyfields
     * @param string $summary
     * @return collection
     */
    public function add_database_table($name, array $privacyfields, $summary = '') {
        $this->items[] = (object)['type' => 'database_table', 'name' => $name, 'fields' => $privacyfields,
            'summary' => $summary];
        return $this;
    }

    /**
     * As collection::add_external_location_link().
     *
     * @param string $name
     * @param array $privacyfields
     * @param string $summary
     * @return collection
     */
    public function add_external_location_link($name, array $privacyfields, $summary = '') {
        $this->items[] = (object)['type' => 'external_location', 'name' => $name, 'fields' => $privacyfields,
            'summary' => $summary];
        return $this;
    }

    /**
     * As collection::get_collection().
     *
     * @return array
     */
    public function get_collection() {
        return $this->items;
    }

    /**
     * As collection::get_component().
     *
     * @return string
     */
    public function get_component() {
        return $this->component;
    }
}

/**
 * As \core_privacy\local\metadata\provider.
 */
interface provider {
    /**
     * Returns meta data about this system.
     *
     * @param collection $collection
     * @return collection
     */
    public static function get_metadata(collection $collection): collection;
}

namespace core_privacy\local\request;

/**
 * As \core_privacy\local\request\data_provider.
 */
interface data_provider {
}

/**
 * As \core_privacy\local\request\core_data_provider.
 */
interface core_data_provider extends data_provider {
}

/**
 * As \core_privacy\local\request\core_user_data_provider.
 */
interface core_user_data_provider extends core_data_provider {
    /**
     * Contexts with the user's data.
     *
     * @param int $userid
     * @return contextlist
     */
    public static function get_contexts_for_userid(int $userid): contextlist;

    /**
     * Export.
     *
     * @param approved_contextlist $contextlist
     */
    public static function export_user_data(approved_contextlist $contextlist);

    /**
     * Delete all in a context.
     *
     * @param \context $context
     */
    public static function delete_data_for_all_users_in_context(\context $context);

    /**
     * Delete a user's data.
     *
     * @param approved_contextlist $contextlist
     */
    public static function delete_data_for_user(approved_contextlist $contextlist);
}

/**
 * As \core_privacy\local\request\userlist_provider.
 */
interface userlist_provider {
}

/**
 * As \core_privacy\local\request\core_userlist_provider.
 */
interface core_userlist_provider extends userlist_provider {
    /**
     * Users with data in a context.
     *
     * @param userlist $userlist
     */
    public static function get_users_in_context(userlist $userlist);

    /**
     * Delete several users' data in one context.
     *
     * @param approved_userlist $userlist
     */
    public static function delete_data_for_users(approved_userlist $userlist);
}

namespace core_privacy\local\request\plugin;

/**
 * As \core_privacy\local\request\plugin\provider.
 */
interface provider extends \core_privacy\local\request\core_user_data_provider {
}

namespace core_privacy\local\request;

/**
 * Stand-in of contextlist: add_from_sql() runs the SQL like Moodle's (wrapped in a context query).
 */
class contextlist implements \IteratorAggregate, \Countable {
    /** @var int[] */
    protected $contextids = [];

    /**
     * As contextlist::add_from_sql().
     *
     * @param string $sql
     * @param array $params
     * @return contextlist
     */
    public function add_from_sql(string $sql, array $params): contextlist {
        global $DB;
        $records = $DB->get_records_sql("SELECT ctx.id FROM {context} ctx WHERE id IN ($sql)", $params);
        $this->contextids = array_values(array_unique(array_merge($this->contextids, array_map('intval', array_keys($records)))));
        return $this;
    }

    /**
     * Context ids.
     *
     * @return int[]
     */
    public function get_contextids(): array {
        return $this->contextids;
    }

    /**
     * Contexts.
     *
     * @return \context[]
     */
    public function get_contexts(): array {
        return array_map(fn($id) => \context::instance_by_id($id), $this->contextids);
    }

    /**
     * Iterator over contexts.
     *
     * @return \Iterator
     */
    public function getIterator(): \Iterator {
        return new \ArrayIterator($this->get_contexts());
    }

    /**
     * Number of contexts.
     *
     * @return int
     */
    public function count(): int {
        return count($this->contextids);
    }
}

/**
 * Stand-in of approved_contextlist.
 */
class approved_contextlist extends contextlist {
    /** @var \stdClass */
    protected $user;
    /** @var string */
    protected $component;

    /**
     * Constructor, as in Moodle.
     *
     * @param \stdClass $user
     * @param string $component
     * @param array $contextids
     */
    public function __construct(\stdClass $user, string $component, array $contextids) {
        $this->user = $user;
        $this->component = $component;
        $this->contextids = array_map('intval', $contextids);
    }

    /**
     * The user.
     *
     * @return \stdClass
     */
    public function get_user(): \stdClass {
        return $this->user;
    }
}

/**
 * Stand-in of userlist.
 */
class userlist {
    /** @var \context */
    protected $context;
    /** @var string */
    protected $component;
    /** @var int[] */
    protected $userids = [];

    /**
     * Constructor, as in Moodle.
     *
     * @param \context $context
     * @param string $component
     */
    public function __construct(\context $context, string $component) {
        $this->context = $context;
        $this->component = $component;
    }

    /**
     * As userlist::add_from_sql(): joined with the user table like Moodle's.
     *
     * @param string $fieldname
     * @param string $sql
     * @param array $params
     * @return userlist
     */
    public function add_from_sql(string $fieldname, string $sql, array $params): userlist {
        global $DB;
        $users = $DB->get_records_sql("SELECT DISTINCT u.id FROM {user} u JOIN ({$sql}) target ON u.id = target.{$fieldname}",
            $params);
        $this->userids = array_values(array_unique(array_merge($this->userids, array_map('intval', array_keys($users)))));
        return $this;
    }

    /**
     * The context.
     *
     * @return \context
     */
    public function get_context(): \context {
        return $this->context;
    }

    /**
     * User ids.
     *
     * @return int[]
     */
    public function get_userids(): array {
        return $this->userids;
    }
}

/**
 * Stand-in of approved_userlist.
 */
class approved_userlist extends userlist {
    /**
     * Constructor, as in Moodle.
     *
     * @param \context $context
     * @param string $component
     * @param array $userids
     */
    public function __construct(\context $context, string $component, array $userids) {
        parent::__construct($context, $component);
        $this->userids = array_map('intval', $userids);
    }
}

/**
 * Stand-in of writer: keeps exported data in memory.
 */
class writer {
    /** @var array exported data by context id and subcontext path */
    public static $exported = [];

    /**
     * As writer::with_context().
     *
     * @param \context $context
     * @return content_writer
     */
    public static function with_context(\context $context) {
        return new content_writer($context);
    }
}

/**
 * Stand-in of a content writer bound to one context.
 */
class content_writer {
    /** @var \context */
    protected $context;

    /**
     * Constructor.
     *
     * @param \context $context
     */
    public function __construct(\context $context) {
        $this->context = $context;
    }

    /**
     * As content_writer::export_data().
     *
     * @param array $subcontext
     * @param \stdClass $data
     * @return content_writer
     */
    public function export_data(array $subcontext, \stdClass $data) {
        writer::$exported[$this->context->id][implode('/', $subcontext)] = $data;
        return $this;
    }
}

/**
 * Stand-in of transform.
 */
class transform {
    /**
     * As transform::datetime().
     *
     * @param int $datetime
     * @return string
     */
    public static function datetime($datetime) {
        return gmdate('Y-m-d H:i:s', (int)$datetime) . ' UTC';
    }

    /**
     * As transform::yesno().
     *
     * @param mixed $value
     * @return string
     */
    public static function yesno($value) {
        return $value ? 'Yes' : 'No';
    }
}
