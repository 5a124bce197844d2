<?php
// This file is part of the ferry project, test scaffolding only.
//
// moodle_standin: a small stand-in for the Moodle APIs local_ferry uses. It is NOT Moodle.
// See README.md in this directory.
//
// @license GNU GPL v3 or later

if (defined('MOODLE_STANDIN')) {
    return;
}
define('MOODLE_STANDIN', true);
define('MOODLE_INTERNAL', true);

// Constants from Moodle's lib/setuplib.php, lib/accesslib.php, lib/dml/moodle_database.php.
define('CONTEXT_SYSTEM', 10);
define('CONTEXT_USER', 30);
define('CONTEXT_COURSECAT', 40);
define('CONTEXT_COURSE', 50);
define('CONTEXT_MODULE', 70);
define('CONTEXT_BLOCK', 80);
define('IGNORE_MISSING', 0);
define('IGNORE_MULTIPLE', 1);
define('MUST_EXIST', 2);
define('SQL_PARAMS_NAMED', 1);
define('SQL_PARAMS_QM', 2);
define('SQL_PARAMS_DOLLAR', 4);
define('DEBUG_NORMAL', E_ERROR | E_PARSE | E_WARNING | E_NOTICE);
define('DEBUG_DEVELOPER', E_ALL);
define('MATURITY_ALPHA', 50);
define('MATURITY_BETA', 100);
define('MATURITY_RC', 150);
define('MATURITY_STABLE', 200);
define('FORMAT_PLAIN', '2');
define('MESSAGE_DEFAULT_ENABLED', 0x01);
define('MESSAGE_PERMITTED', 0x0c);
define('XMLDB_TYPE_INTEGER', 1);
define('XMLDB_NOTNULL', true);
define('XMLDB_INDEX_NOTUNIQUE', false);
define('PARAM_ALPHA', 'alpha');
define('SITEID', 1);
define('PARAM_INT', 'int');
define('PARAM_URL', 'url');
define('PARAM_RAW', 'raw');

define('STANDIN_PLUGIN_DIR', realpath(__DIR__ . '/../../local_ferry'));

require_once(__DIR__ . '/classes/exceptions.php');
require_once(__DIR__ . '/classes/database.php');
require_once(__DIR__ . '/classes/event.php');
require_once(__DIR__ . '/classes/task.php');
require_once(__DIR__ . '/classes/modinfo.php');
require_once(__DIR__ . '/classes/access.php');
require_once(__DIR__ . '/classes/privacy.php');
require_once(__DIR__ . '/classes/admin.php');
require_once(__DIR__ . '/classes/admin_tools.php');
require_once(__DIR__ . '/classes/standin.php');
require_once(__DIR__ . '/functions.php');
require_once(__DIR__ . '/lib/filelib.php');

// The plugin's own classes, autoloaded the way Moodle does (component\sub\name -> classes/sub/name.php).
spl_autoload_register(function (string $class): void {
    if (strpos($class, 'local_ferry\\') !== 0) {
        return;
    }
    $file = STANDIN_PLUGIN_DIR . '/classes/' . str_replace('\\', '/', substr($class, strlen('local_ferry\\'))) . '.php';
    if (is_file($file)) {
        require_once($file);
    }
});

global $CFG, $DB, $PAGE, $USER;
$CFG = new stdClass();
$CFG->libdir = __DIR__ . '/lib';
$CFG->dirroot = realpath(__DIR__);
$CFG->siteidentifier = 'standin-site';
// Like Moodle's PHPUnit environment: no HTTP security block list unless a test sets one.
$CFG->curlsecurityblockedhosts = '';
$CFG->curlsecurityallowedport = '';

\moodle_standin\standin::reset(getenv('MOODLE_STANDIN_DB') ?: ':memory:');
