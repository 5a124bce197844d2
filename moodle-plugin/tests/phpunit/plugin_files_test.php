<?php
// PHPUnit checks of local_ferry's declaration files (version, events, tasks, install.xml, settings,
// language strings), against the moodle_standin (NOT Moodle).
// @license GNU GPL v3 or later

namespace local_ferry\tests;

/**
 * Declaration files and language strings.
 *
 * @coversNothing
 */
class plugin_files_test extends ferry_testcase {
    public function test_version(): void {
        $plugin = new \stdClass();
        require(STANDIN_PLUGIN_DIR . '/version.php');
        $this->assertSame('local_ferry', $plugin->component);
        $this->assertGreaterThanOrEqual(2024100700, $plugin->requires, 'Moodle 4.5 LTS or later');
        $this->assertMatchesRegularExpression('/^\d{10}$/', (string)$plugin->version);
        $this->assertSame('0.1.0', $plugin->release);
        $this->assertSame(MATURITY_BETA, $plugin->maturity, 'a 0.x release is not stable');
    }

    public function test_message_provider_and_status_check_callback(): void {
        require(STANDIN_PLUGIN_DIR . '/db/messages.php');
        $this->assertSame(['deliveryfailing'], array_keys($messageproviders));
        $this->assertSame('moodle/site:config', $messageproviders['deliveryfailing']['capability']);
        require_once(STANDIN_PLUGIN_DIR . '/lib.php');
        $checks = local_ferry_status_checks();
        $this->assertCount(1, $checks);
        $this->assertInstanceOf(\core\check\check::class, $checks[0]);
    }

    public function test_one_catch_all_external_observer(): void {
        require(STANDIN_PLUGIN_DIR . '/db/events.php');
        $this->assertCount(1, $observers);
        $this->assertSame('*', $observers[0]['eventname']);
        $this->assertFalse($observers[0]['internal'], 'called after commit, never for rolled-back work');
        $this->assertTrue(is_callable($observers[0]['callback']));
    }

    public function test_scheduled_flush_every_minute(): void {
        require(STANDIN_PLUGIN_DIR . '/db/tasks.php');
        $this->assertCount(1, $tasks);
        $this->assertSame('local_ferry\task\flush_outbox', $tasks[0]['classname']);
        foreach (['minute', 'hour', 'day', 'month', 'dayofweek'] as $field) {
            $this->assertSame('*', $tasks[0][$field]);
        }
        $this->assertTrue(is_subclass_of($tasks[0]['classname'], \core\task\scheduled_task::class));
        $this->assertTrue(is_subclass_of(\local_ferry\task\send_outbox::class, \core\task\adhoc_task::class));
        $this->assertNotSame('', (new \local_ferry\task\flush_outbox())->get_name());
        $this->assertNotSame('', (new \local_ferry\task\send_outbox())->get_name());
    }

    public function test_install_xml_outbox_table(): void {
        $xml = simplexml_load_file(STANDIN_PLUGIN_DIR . '/db/install.xml');
        $this->assertSame('local/ferry/db', (string)$xml['PATH']);
        $fields = [];
        foreach ($xml->TABLES->TABLE as $table) {
            $this->assertSame('local_ferry_outbox', (string)$table['NAME']);
            foreach ($table->FIELDS->FIELD as $field) {
                $fields[] = (string)$field['NAME'];
            }
        }
        foreach (['id', 'eventname', 'userid', 'relateduserid', 'contextid', 'payload', 'timecreated', 'attempts',
                'nextattempt', 'lasterror', 'parked'] as $name) {
            $this->assertContains($name, $fields);
        }
    }

    public function test_upgrade_from_0_1_0_adds_the_context_of_queued_rows(): void {
        global $DB;
        // The 2025120100 schema: no contextid column.
        $DB->pdo->exec('DROP INDEX IF EXISTS local_ferry_outbox_contextid');
        $DB->pdo->exec('ALTER TABLE local_ferry_outbox DROP COLUMN contextid');
        $DB->pdo->exec("INSERT INTO local_ferry_outbox (eventname, payload, timecreated)
            VALUES ('\\core\\event\\course_viewed', '{\"contextid\":18}', 1), ('x', 'not json', 2)");

        require_once(STANDIN_PLUGIN_DIR . '/db/upgrade.php');
        $this->assertTrue(xmldb_local_ferry_upgrade(2025120100));

        $this->assertSame(['18', '0'], array_column($this->outbox(), 'contextid'));
        $this->assertSame(['local_ferry:2025120200'], \moodle_standin\standin::$savepoints);
        $plugin = new \stdClass();
        require(STANDIN_PLUGIN_DIR . '/version.php');
        $this->assertSame(2025120200, $plugin->version, 'the last upgrade step is the current version');
        // Nothing to do from the current version.
        $this->assertTrue(xmldb_local_ferry_upgrade($plugin->version));
        $this->assertCount(1, \moodle_standin\standin::$savepoints);
    }

    public function test_settings_page(): void {
        $hassiteconfig = true;
        $ADMIN = new \admin_root();
        require(STANDIN_PLUGIN_DIR . '/settings.php');
        $this->assertSame(['localplugins', 'localplugins', 'localplugins'], array_column($ADMIN->added, 0));
        [$report, $test] = [$ADMIN->added[1][1], $ADMIN->added[2][1]];
        $this->assertSame(['local_ferry_report', 'moodle/site:config', false], [$report->name, $report->capability,
            $report->hidden]);
        $this->assertSame(['local_ferry_testconnection', 'moodle/site:config', true], [$test->name, $test->capability,
            $test->hidden]);
        foreach (['report.php' => 'local_ferry_report', 'testconnection.php' => 'local_ferry_testconnection'] as $file => $page) {
            $this->assertStringContainsString("admin_externalpage_setup('$page');",
                file_get_contents(STANDIN_PLUGIN_DIR . '/' . $file));
        }
        $byname = [];
        foreach ($settings->settings as $setting) {
            $byname[$setting->name] = $setting;
        }
        $this->assertSame(['local_ferry/url', 'local_ferry/token', 'local_ferry/events', 'local_ferry/skipstaff',
            'local_ferry/batchsize', 'local_ferry/timeout', 'local_ferry/monitoring', 'local_ferry/notifyafter',
            'local_ferry/backlogwarning', 'local_ferry/backlogcritical', 'local_ferry/maxrows',
            'local_ferry/parkedretention', 'local_ferry/testconnection'], array_keys($byname));
        // Bounded settings: a choice for the batch size, durations with limits.
        $this->assertInstanceOf(\admin_setting_configselect::class, $byname['local_ferry/batchsize']);
        $this->assertSame(1000, max(array_keys($byname['local_ferry/batchsize']->extra[0])));
        $this->assertSame(100, $byname['local_ferry/batchsize']->defaultsetting);
        foreach (['timeout' => [1, 60], 'notifyafter' => [0, 604800], 'backlogwarning' => [60, 604800],
                'backlogcritical' => [60, 2592000], 'parkedretention' => [86400, 31536000]] as $name => $bounds) {
            $setting = $byname["local_ferry/$name"];
            $this->assertInstanceOf(\admin_setting_configduration::class, $setting, $name);
            $this->assertSame($bounds, [$setting->minduration, $setting->maxduration], $name);
        }
        $this->assertSame(10, $byname['local_ferry/timeout']->defaultsetting);
        $this->assertInstanceOf(\admin_setting_configpasswordunmask::class, $byname['local_ferry/token']);
        $this->assertSame(1, $byname['local_ferry/skipstaff']->defaultsetting, 'skip staff is on by default');
        $this->assertSame('learning', $byname['local_ferry/events']->defaultsetting);
        $this->assertSame(['learning', 'userevents', 'all'], array_keys($byname['local_ferry/events']->extra[0]));
        $this->assertStringContainsString('/local/ferry/testconnection.php', $byname['local_ferry/testconnection']->description);
        $this->assertFileExists(STANDIN_PLUGIN_DIR . '/testconnection.php');
    }

    public function test_every_string_used_exists_and_none_is_unused(): void {
        $string = [];
        include(STANDIN_PLUGIN_DIR . '/lang/en/local_ferry.php');
        $defined = array_keys($string);
        $sorted = $defined;
        sort($sorted);
        $this->assertSame($sorted, $defined, 'strings are in alphabetical order');

        $code = '';
        $files = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator(STANDIN_PLUGIN_DIR));
        foreach ($files as $file) {
            if ($file->getExtension() === 'php' && strpos($file->getPathname(), '/lang/') === false) {
                $code .= file_get_contents($file->getPathname()) . "\n";
            }
        }
        // get_string('id', 'local_ferry'), new lang_string('id', 'local_ferry'), moodle_exception('id', 'local_ferry').
        preg_match_all("/\\(\\s*'([a-z0-9_:]+)'\\s*,\\s*'local_ferry'/", $code, $m);
        // Privacy metadata string ids (the external location's are built from provider::FERRY_FIELDS).
        preg_match_all("/'(privacy:[a-z0-9_:]+[a-z0-9_])'/", $code, $p);
        $dynamic = ['pluginname', 'messageprovider:deliveryfailing'];
        foreach (\local_ferry\privacy\provider::FERRY_FIELDS as $field) {
            $dynamic[] = 'privacy:metadata:ferry:' . $field;
        }
        foreach (\local_ferry\local\report_actions::ACTIONS as $action) {
            $dynamic[] = 'done_' . $action;
        }
        // set_config()/unset_config() calls match the pattern too: plugin state, not strings.
        $config = ['failingsince', 'notifiedat', 'droppedrows', 'droppedat'];
        $used = array_diff(array_unique(array_merge($m[1], $p[1], $dynamic)), $config);
        sort($used);

        $this->assertSame([], array_values(array_diff($used, $defined)), 'strings used but not defined');
        $this->assertSame([], array_values(array_diff($defined, $used)), 'strings defined but not used');
    }
}
