<?php
// moodle_standin (NOT Moodle): a $DB over PDO SQLite with the moodle_database methods local_ferry uses.
// @license GNU GPL v3 or later

namespace moodle_standin;

/**
 * Minimal moodle_database: same method names, signatures and return conventions
 * (records keyed by their first field, values as strings), backed by PDO SQLite.
 */
class database {
    /** @var \PDO */
    public $pdo;

    /** @var array counts of calls per method, so tests can assert "one insert, no reads" */
    public $calls = [];

    /**
     * Opens (and if needed creates) the database.
     *
     * @param string $path SQLite file or ':memory:'
     */
    public function __construct(string $path) {
        if (!in_array('sqlite', \PDO::getAvailableDrivers(), true)) {
            throw new \RuntimeException('moodle_standin needs pdo_sqlite (Debian package php-sqlite3)');
        }
        $this->pdo = new \PDO('sqlite:' . $path);
        $this->pdo->setAttribute(\PDO::ATTR_ERRMODE, \PDO::ERRMODE_EXCEPTION);
        // Moodle's drivers return every value as a string (or null); so do we.
        $this->pdo->setAttribute(\PDO::ATTR_STRINGIFY_FETCHES, true);
        $this->pdo->setAttribute(\PDO::ATTR_DEFAULT_FETCH_MODE, \PDO::FETCH_OBJ);
        $this->pdo->exec('PRAGMA busy_timeout = 5000');
        $this->create_schema();
    }

    /**
     * Outbox table from the plugin's install.xml, plus the few core tables the plugin reads.
     *
     * @return void
     */
    protected function create_schema(): void {
        $xml = simplexml_load_file(STANDIN_PLUGIN_DIR . '/db/install.xml');
        foreach ($xml->TABLES->TABLE as $table) {
            $columns = [];
            foreach ($table->FIELDS->FIELD as $field) {
                $name = (string)$field['NAME'];
                if ((string)$field['SEQUENCE'] === 'true') {
                    $columns[] = "$name INTEGER PRIMARY KEY AUTOINCREMENT";
                    continue;
                }
                $type = ['int' => 'INTEGER', 'number' => 'REAL', 'float' => 'REAL'][(string)$field['TYPE']] ?? 'TEXT';
                $col = "$name $type";
                if ((string)$field['NOTNULL'] === 'true') {
                    $col .= ' NOT NULL';
                }
                if (isset($field['DEFAULT'])) {
                    $col .= ' DEFAULT ' . $this->pdo->quote((string)$field['DEFAULT']);
                }
                $columns[] = $col;
            }
            $tablename = (string)$table['NAME'];
            $this->pdo->exec("CREATE TABLE IF NOT EXISTS $tablename (" . implode(', ', $columns) . ')');
            foreach ($table->INDEXES->INDEX ?? [] as $index) {
                $iname = $tablename . '_' . preg_replace('/\W+/', '_', (string)$index['NAME']);
                $this->pdo->exec("CREATE INDEX IF NOT EXISTS $iname ON $tablename (" . (string)$index['FIELDS'] . ')');
            }
        }
        $core = [
            'context' => 'id INTEGER PRIMARY KEY AUTOINCREMENT, contextlevel INTEGER NOT NULL, instanceid INTEGER NOT NULL',
            'user' => 'id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL DEFAULT \'\', firstname TEXT, '
                . 'lastname TEXT, email TEXT, idnumber TEXT DEFAULT \'\', phone1 TEXT DEFAULT \'\', city TEXT DEFAULT \'\', '
                . 'country TEXT DEFAULT \'\', suspended INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0, '
                . 'timecreated INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0',
            'enrol' => 'id INTEGER PRIMARY KEY AUTOINCREMENT, enrol TEXT NOT NULL DEFAULT \'manual\', '
                . 'courseid INTEGER NOT NULL, roleid INTEGER DEFAULT 0, status INTEGER NOT NULL DEFAULT 0',
            'user_enrolments' => 'id INTEGER PRIMARY KEY AUTOINCREMENT, enrolid INTEGER NOT NULL, userid INTEGER NOT NULL, '
                . 'status INTEGER NOT NULL DEFAULT 0, timestart INTEGER NOT NULL DEFAULT 0, timeend INTEGER NOT NULL DEFAULT 0, '
                . 'modifierid INTEGER NOT NULL DEFAULT 0, timecreated INTEGER NOT NULL DEFAULT 0, '
                . 'timemodified INTEGER NOT NULL DEFAULT 0',
            'role_assignments' => 'id INTEGER PRIMARY KEY AUTOINCREMENT, roleid INTEGER NOT NULL, contextid INTEGER NOT NULL, '
                . 'userid INTEGER NOT NULL, timemodified INTEGER NOT NULL DEFAULT 0, modifierid INTEGER NOT NULL DEFAULT 0, '
                . 'component TEXT NOT NULL DEFAULT \'\', itemid INTEGER NOT NULL DEFAULT 0',
        ];
        foreach ($core as $name => $columns) {
            $this->pdo->exec("CREATE TABLE IF NOT EXISTS \"$name\" ($columns)");
        }
    }

    /**
     * Counts a call.
     *
     * @param string $method
     * @return void
     */
    protected function count(string $method): void {
        $this->calls[$method] = ($this->calls[$method] ?? 0) + 1;
    }

    /**
     * Expands Moodle's {table} placeholders.
     *
     * @param string $sql
     * @return string
     */
    protected function fix_sql(string $sql): string {
        return preg_replace('/\{(\w+)\}/', '"$1"', $sql);
    }

    /**
     * Runs a query.
     *
     * @param string $sql
     * @param array|null $params
     * @return \PDOStatement
     */
    protected function query(string $sql, ?array $params = null): \PDOStatement {
        $stmt = $this->pdo->prepare($this->fix_sql($sql));
        $params = $params ?? [];
        foreach ($params as $key => $value) {
            if (is_bool($value)) {
                $params[$key] = (int)$value;
            }
        }
        $stmt->execute(array_is_list($params) ? $params : array_combine(
            array_map(fn($k) => ':' . ltrim((string)$k, ':'), array_keys($params)),
            array_values($params)
        ));
        return $stmt;
    }

    /**
     * WHERE clause from a conditions array.
     *
     * @param array|null $conditions
     * @return array [sql, params]
     */
    protected function where(?array $conditions): array {
        if (!$conditions) {
            return ['1 = 1', []];
        }
        $parts = [];
        $params = [];
        $i = 0;
        foreach ($conditions as $field => $value) {
            if ($value === null) {
                $parts[] = "$field IS NULL";
                continue;
            }
            $key = 'w' . $i++;
            $parts[] = "$field = :$key";
            $params[$key] = $value;
        }
        return [implode(' AND ', $parts), $params];
    }

    /**
     * SELECT with optional sort and limits, keyed by the first field like Moodle.
     *
     * @param string $sql
     * @param array|null $params
     * @param int $limitfrom
     * @param int $limitnum
     * @return array
     */
    public function get_records_sql($sql, ?array $params = null, $limitfrom = 0, $limitnum = 0) {
        $this->count(__FUNCTION__);
        if ($limitnum > 0 || $limitfrom > 0) {
            $sql .= ' LIMIT ' . ($limitnum > 0 ? (int)$limitnum : -1) . ' OFFSET ' . (int)$limitfrom;
        }
        $result = [];
        foreach ($this->query($sql, $params)->fetchAll() as $record) {
            $vars = get_object_vars($record);
            $key = reset($vars);
            $result[$key] = $record;
        }
        return $result;
    }

    /**
     * As get_recordset_sql(): rows fetched one at a time from the statement, like a moodle_recordset.
     *
     * @param string $sql
     * @param array|null $params
     * @param int $limitfrom
     * @param int $limitnum
     * @return recordset
     */
    public function get_recordset_sql($sql, ?array $params = null, $limitfrom = 0, $limitnum = 0) {
        $this->count(__FUNCTION__);
        if ($limitnum > 0 || $limitfrom > 0) {
            $sql .= ' LIMIT ' . ($limitnum > 0 ? (int)$limitnum : -1) . ' OFFSET ' . (int)$limitfrom;
        }
        return new recordset($this->query($sql, $params));
    }

    /**
     * As get_recordset_select().
     *
     * @param string $table
     * @param string $select
     * @param array|null $params
     * @param string $sort
     * @param string $fields
     * @param int $limitfrom
     * @param int $limitnum
     * @return recordset
     */
    public function get_recordset_select($table, $select, ?array $params = null, $sort = '', $fields = '*',
            $limitfrom = 0, $limitnum = 0) {
        $sql = "SELECT $fields FROM {" . $table . "}" . ($select ? " WHERE $select" : '') . ($sort ? " ORDER BY $sort" : '');
        return $this->get_recordset_sql($sql, $params, $limitfrom, $limitnum);
    }

    /**
     * As moodle_database::execute().
     *
     * @param string $sql
     * @param array|null $params
     * @return bool
     */
    public function execute($sql, ?array $params = null) {
        $this->count(__FUNCTION__);
        $this->query($sql, $params);
        return true;
    }

    /**
     * As moodle_database::get_manager(): the few database_manager calls of db/upgrade.php.
     *
     * @return database_manager
     */
    public function get_manager() {
        return new database_manager($this->pdo);
    }

    /**
     * As moodle_database::get_records_select().
     *
     * @param string $table
     * @param string $select
     * @param array|null $params
     * @param string $sort
     * @param string $fields
     * @param int $limitfrom
     * @param int $limitnum
     * @return array
     */
    public function get_records_select($table, $select, ?array $params = null, $sort = '', $fields = '*',
            $limitfrom = 0, $limitnum = 0) {
        $sql = "SELECT $fields FROM {" . $table . "}" . ($select ? " WHERE $select" : '') . ($sort ? " ORDER BY $sort" : '');
        return $this->get_records_sql($sql, $params, $limitfrom, $limitnum);
    }

    /**
     * As moodle_database::get_records().
     *
     * @param string $table
     * @param array|null $conditions
     * @param string $sort
     * @param string $fields
     * @param int $limitfrom
     * @param int $limitnum
     * @return array
     */
    public function get_records($table, ?array $conditions = null, $sort = '', $fields = '*', $limitfrom = 0, $limitnum = 0) {
        [$select, $params] = $this->where($conditions);
        return $this->get_records_select($table, $select, $params, $sort, $fields, $limitfrom, $limitnum);
    }

    /**
     * As moodle_database::get_record_select().
     *
     * @param string $table
     * @param string $select
     * @param array|null $params
     * @param string $fields
     * @param int $strictness
     * @return \stdClass|false
     */
    public function get_record_select($table, $select, ?array $params = null, $fields = '*', $strictness = IGNORE_MISSING) {
        $records = $this->get_records_select($table, $select, $params, '', $fields);
        if (!$records) {
            if ($strictness == MUST_EXIST) {
                throw new \dml_exception("Can not find data record in database table $table.");
            }
            return false;
        }
        if (count($records) > 1 && $strictness == MUST_EXIST) {
            throw new \dml_exception('Error reading from database: more than one record.');
        }
        return reset($records);
    }

    /**
     * As moodle_database::get_record().
     *
     * @param string $table
     * @param array $conditions
     * @param string $fields
     * @param int $strictness
     * @return \stdClass|false
     */
    public function get_record($table, array $conditions, $fields = '*', $strictness = IGNORE_MISSING) {
        [$select, $params] = $this->where($conditions);
        return $this->get_record_select($table, $select, $params, $fields, $strictness);
    }

    /**
     * As moodle_database::get_field().
     *
     * @param string $table
     * @param string $return
     * @param array $conditions
     * @param int $strictness
     * @return mixed
     */
    public function get_field($table, $return, array $conditions, $strictness = IGNORE_MISSING) {
        $record = $this->get_record($table, $conditions, $return, $strictness);
        return $record ? $record->$return : false;
    }

    /**
     * As moodle_database::count_records_select().
     *
     * @param string $table
     * @param string $select
     * @param array|null $params
     * @return int
     */
    public function count_records_select($table, $select, ?array $params = null) {
        $this->count(__FUNCTION__);
        $sql = "SELECT COUNT(*) AS c FROM {" . $table . "}" . ($select ? " WHERE $select" : '');
        return (int)$this->query($sql, $params)->fetch()->c;
    }

    /**
     * As moodle_database::count_records().
     *
     * @param string $table
     * @param array|null $conditions
     * @return int
     */
    public function count_records($table, ?array $conditions = null) {
        [$select, $params] = $this->where($conditions);
        return $this->count_records_select($table, $select, $params);
    }

    /**
     * As moodle_database::record_exists_select().
     *
     * @param string $table
     * @param string $select
     * @param array|null $params
     * @return bool
     */
    public function record_exists_select($table, $select, ?array $params = null) {
        return $this->count_records_select($table, $select, $params) > 0;
    }

    /**
     * As moodle_database::record_exists().
     *
     * @param string $table
     * @param array $conditions
     * @return bool
     */
    public function record_exists($table, array $conditions) {
        return $this->count_records($table, $conditions) > 0;
    }

    /**
     * Columns of a table.
     *
     * @param string $table
     * @return string[]
     */
    protected function columns(string $table): array {
        return array_map(fn($c) => $c->name, $this->pdo->query("PRAGMA table_info(\"$table\")")->fetchAll());
    }

    /**
     * As moodle_database::insert_record(): unknown fields are ignored, id is generated.
     *
     * @param string $table
     * @param object|array $dataobject
     * @param bool $returnid
     * @param bool $bulk
     * @return int|bool
     */
    public function insert_record($table, $dataobject, $returnid = true, $bulk = false) {
        $this->count(__FUNCTION__);
        $data = array_intersect_key((array)$dataobject, array_flip($this->columns($table)));
        unset($data['id']);
        $fields = array_keys($data);
        $sql = "INSERT INTO {" . $table . "} (" . implode(', ', $fields) . ") VALUES ("
            . implode(', ', array_map(fn($f) => ":$f", $fields)) . ")";
        $this->query($sql, $data);
        return $returnid ? (int)$this->pdo->lastInsertId() : true;
    }

    /**
     * As moodle_database::update_record(): needs id.
     *
     * @param string $table
     * @param object|array $dataobject
     * @param bool $bulk
     * @return bool
     */
    public function update_record($table, $dataobject, $bulk = false) {
        $this->count(__FUNCTION__);
        $data = array_intersect_key((array)$dataobject, array_flip($this->columns($table)));
        if (empty($data['id'])) {
            throw new \coding_exception('moodle_database::update_record() id field must be specified');
        }
        $id = $data['id'];
        unset($data['id']);
        $sets = implode(', ', array_map(fn($f) => "$f = :$f", array_keys($data)));
        $data['id'] = $id;
        $this->query("UPDATE {" . $table . "} SET $sets WHERE id = :id", $data);
        return true;
    }

    /**
     * As moodle_database::set_field().
     *
     * @param string $table
     * @param string $newfield
     * @param mixed $newvalue
     * @param array|null $conditions
     * @return bool
     */
    public function set_field($table, $newfield, $newvalue, ?array $conditions = null) {
        $this->count(__FUNCTION__);
        [$select, $params] = $this->where($conditions);
        $params['newvalue'] = $newvalue;
        $this->query("UPDATE {" . $table . "} SET $newfield = :newvalue WHERE $select", $params);
        return true;
    }

    /**
     * As moodle_database::delete_records_select().
     *
     * @param string $table
     * @param string $select
     * @param array|null $params
     * @return bool
     */
    public function delete_records_select($table, $select, ?array $params = null) {
        $this->count(__FUNCTION__);
        $this->query("DELETE FROM {" . $table . "}" . ($select ? " WHERE $select" : ''), $params);
        return true;
    }

    /**
     * As moodle_database::delete_records().
     *
     * @param string $table
     * @param array|null $conditions
     * @return bool
     */
    public function delete_records($table, ?array $conditions = null) {
        [$select, $params] = $this->where($conditions);
        return $this->delete_records_select($table, $select, $params);
    }

    /**
     * As moodle_database::delete_records_list().
     *
     * @param string $table
     * @param string $field
     * @param array $values
     * @return bool
     */
    public function delete_records_list($table, $field, array $values) {
        if (!$values) {
            return true;
        }
        [$insql, $params] = $this->get_in_or_equal($values, SQL_PARAMS_NAMED);
        return $this->delete_records_select($table, "$field $insql", $params);
    }

    /**
     * As moodle_database::get_in_or_equal().
     *
     * @param mixed $items
     * @param int $type
     * @param string $prefix
     * @param bool $equal
     * @return array [sql, params]
     */
    public function get_in_or_equal($items, $type = SQL_PARAMS_QM, $prefix = 'param', $equal = true) {
        static $counter = 0;
        $items = array_values((array)$items);
        if (!$items) {
            throw new \coding_exception('moodle_database::get_in_or_equal() does not accept empty arrays');
        }
        if ($type == SQL_PARAMS_QM) {
            $sql = count($items) === 1 ? ($equal ? '= ?' : '<> ?')
                : ($equal ? 'IN ' : 'NOT IN ') . '(' . implode(',', array_fill(0, count($items), '?')) . ')';
            return [$sql, $items];
        }
        $params = [];
        foreach ($items as $item) {
            $params[$prefix . 'standin' . $counter++] = $item;
        }
        $names = array_map(fn($k) => ":$k", array_keys($params));
        $sql = count($items) === 1 ? ($equal ? '= ' : '<> ') . $names[0]
            : ($equal ? 'IN ' : 'NOT IN ') . '(' . implode(',', $names) . ')';
        return [$sql, $params];
    }
}

/**
 * Stand-in of moodle_recordset: iterates a PDO statement, must be closed.
 */
class recordset implements \IteratorAggregate {
    /** @var \PDOStatement|null */
    protected $stmt;

    /**
     * Constructor.
     *
     * @param \PDOStatement $stmt
     */
    public function __construct(\PDOStatement $stmt) {
        $this->stmt = $stmt;
    }

    /**
     * Rows, one at a time.
     *
     * @return \Generator
     */
    public function getIterator(): \Generator {
        while ($this->stmt && ($row = $this->stmt->fetch()) !== false) {
            yield $row;
        }
    }

    /**
     * As moodle_recordset::close().
     *
     * @return void
     */
    public function close() {
        if ($this->stmt) {
            $this->stmt->closeCursor();
        }
        $this->stmt = null;
    }
}

/**
 * Stand-in of database_manager: field and index existence, add field, add index (SQLite).
 */
class database_manager {
    /** @var \PDO */
    protected $pdo;

    /**
     * Constructor.
     *
     * @param \PDO $pdo
     */
    public function __construct(\PDO $pdo) {
        $this->pdo = $pdo;
    }

    /**
     * As field_exists().
     *
     * @param \xmldb_table $table
     * @param \xmldb_field $field
     * @return bool
     */
    public function field_exists($table, $field) {
        foreach ($this->pdo->query("PRAGMA table_info({$table->name})")->fetchAll() as $column) {
            if ($column->name === $field->name) {
                return true;
            }
        }
        return false;
    }

    /**
     * As add_field() (integer fields with a default, which is all db/upgrade.php adds).
     *
     * @param \xmldb_table $table
     * @param \xmldb_field $field
     * @return void
     */
    public function add_field($table, $field) {
        $this->pdo->exec("ALTER TABLE {$table->name} ADD COLUMN {$field->name} INTEGER NOT NULL DEFAULT "
            . (int)$field->default);
    }

    /**
     * As index_exists().
     *
     * @param \xmldb_table $table
     * @param \xmldb_index $index
     * @return bool
     */
    public function index_exists($table, $index) {
        $name = $table->name . '_' . $index->name;
        return (bool)$this->pdo->query("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = "
            . $this->pdo->quote($name))->fetchColumn();
    }

    /**
     * As add_index().
     *
     * @param \xmldb_table $table
     * @param \xmldb_index $index
     * @return void
     */
    public function add_index($table, $index) {
        $this->pdo->exec("CREATE INDEX {$table->name}_{$index->name} ON {$table->name} (" . implode(', ', $index->fields) . ')');
    }
}
