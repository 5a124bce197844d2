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
        foreach (['id', 'eventname', 'userid', 'payload', 'timecreated', 'attempts', 'nextattempt', 'lasterror',
                'parked'] as $name) {
            $this->assertContains($name, $fields);
        }
        require_once(STANDIN_PLUGIN_DIR . '/db/upgrade.php');
        $this->assertTrue(xmldb_local_ferry_upgrade(2025120100));
    }

    public function test_settings_page(): void {
        $hassiteconfig = true;
        $ADMIN = new \admin_root();
        require(STANDIN_PLUGIN_DIR . '/settings.php');
        $this->assertSame('localplugins', $ADMIN->added[0][0]);
        $byname = [];
        foreach ($settings->settings as $setting) {
            $byname[$setting->name] = $setting;
        }
        $this->assertSame(['local_ferry/url', 'local_ferry/token', 'local_ferry/events', 'local_ferry/skipstaff',
            'local_ferry/batchsize', 'local_ferry/timeout', 'local_ferry/testconnection'], array_keys($byname));
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
        // Privacy metadata string ids.
        preg_match_all("/'(privacy:[a-z0-9_:]+)'/", $code, $p);
        $used = array_unique(array_merge($m[1], $p[1], ['pluginname']));
        sort($used);

        $this->assertSame([], array_values(array_diff($used, $defined)), 'strings used but not defined');
        $this->assertSame([], array_values(array_diff($defined, $used)), 'strings defined but not used');
    }
}
