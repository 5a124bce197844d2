<?php
// moodle_standin (NOT Moodle): just enough of the admin settings API and output helpers to
// load settings.php and see which settings it declares.
// @license GNU GPL v3 or later

/**
 * Stand-in of lang_string (resolved lazily in Moodle; eagerly here).
 */
class lang_string {
    /** @var string */
    public $identifier;
    /** @var string */
    public $component;

    /**
     * Constructor.
     *
     * @param string $identifier
     * @param string $component
     * @param mixed $a
     */
    public function __construct($identifier, $component = '', $a = null) {
        $this->identifier = $identifier;
        $this->component = $component;
        get_string($identifier, $component, $a);
    }

    /**
     * The string.
     *
     * @return string
     */
    public function __toString() {
        return get_string($this->identifier, $this->component);
    }
}

/**
 * Stand-in of admin_setting: records its arguments.
 */
class admin_setting {
    /** @var string plugin/name */
    public $name;
    /** @var mixed */
    public $visiblename;
    /** @var mixed */
    public $description;
    /** @var mixed */
    public $defaultsetting;
    /** @var array extra constructor arguments */
    public $extra;

    /**
     * Constructor.
     *
     * @param string $name
     * @param mixed $visiblename
     * @param mixed $description
     * @param mixed $defaultsetting
     * @param mixed ...$extra
     */
    public function __construct($name, $visiblename, $description, $defaultsetting = null, ...$extra) {
        $this->name = $name;
        $this->visiblename = $visiblename;
        $this->description = $description;
        $this->defaultsetting = $defaultsetting;
        $this->extra = $extra;
    }
}

/** Stand-in. */
class admin_setting_configtext extends admin_setting {
}

/** Stand-in. */
class admin_setting_configpasswordunmask extends admin_setting {
}

/** Stand-in. */
class admin_setting_configselect extends admin_setting {
}

/** Stand-in. */
class admin_setting_configcheckbox extends admin_setting {
}

/** Stand-in. */
class admin_setting_description extends admin_setting {
}

/** Stand-in. */
class admin_setting_heading extends admin_setting {
}

/**
 * Stand-in of admin_setting_configduration (with its bounds).
 */
class admin_setting_configduration extends admin_setting {
    /** @var int */
    public $minduration = 0;
    /** @var int|null */
    public $maxduration = null;

    /**
     * As set_min_duration().
     *
     * @param int $duration
     * @return void
     */
    public function set_min_duration(int $duration): void {
        $this->minduration = $duration;
    }

    /**
     * As set_max_duration().
     *
     * @param int|null $duration
     * @return void
     */
    public function set_max_duration(?int $duration): void {
        $this->maxduration = $duration;
    }
}

/**
 * Stand-in of admin_externalpage.
 */
class admin_externalpage {
    /** @var string */
    public $name;
    /** @var moodle_url */
    public $url;
    /** @var string */
    public $capability;
    /** @var bool */
    public $hidden;

    /**
     * Constructor.
     *
     * @param string $name
     * @param mixed $visiblename
     * @param moodle_url $url
     * @param string $capability
     * @param bool $hidden
     */
    public function __construct($name, $visiblename, $url, $capability = 'moodle/site:config', $hidden = false) {
        $this->name = $name;
        $this->url = $url;
        $this->capability = $capability;
        $this->hidden = $hidden;
    }
}

/**
 * Stand-in of admin_settingpage.
 */
class admin_settingpage {
    /** @var string */
    public $name;
    /** @var admin_setting[] */
    public $settings = [];

    /**
     * Constructor.
     *
     * @param string $name
     * @param mixed $visiblename
     */
    public function __construct($name, $visiblename) {
        $this->name = $name;
    }

    /**
     * Adds a setting.
     *
     * @param admin_setting $setting
     * @return bool
     */
    public function add($setting) {
        $this->settings[] = $setting;
        return true;
    }
}

/**
 * Stand-in of the admin tree root ($ADMIN).
 */
class admin_root {
    /** @var bool */
    public $fulltree = true;
    /** @var array [parent, page] */
    public $added = [];

    /**
     * Adds a page under a category.
     *
     * @param string $parent
     * @param mixed $page
     * @return bool
     */
    public function add($parent, $page) {
        $this->added[] = [$parent, $page];
        return true;
    }
}

/**
 * Stand-in of moodle_url.
 */
class moodle_url {
    /** @var string */
    protected $url;

    /**
     * Constructor.
     *
     * @param string $url
     * @param array $params
     */
    public function __construct($url, array $params = []) {
        $this->url = 'https://moodle.example' . $url . ($params ? '?' . http_build_query($params) : '');
    }

    /**
     * The URL.
     *
     * @return string
     */
    public function out() {
        return $this->url;
    }

    /**
     * The URL.
     *
     * @return string
     */
    public function __toString() {
        return $this->url;
    }
}

/**
 * Stand-in of html_writer.
 */
class html_writer {
    /**
     * A link.
     *
     * @param moodle_url|string $url
     * @param string $text
     * @return string
     */
    public static function link($url, $text) {
        return '<a href="' . htmlspecialchars((string)$url) . '">' . $text . '</a>';
    }
}

/**
 * As sesskey().
 *
 * @return string
 */
function sesskey() {
    return 'standinsesskey';
}
