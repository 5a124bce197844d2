<?php
// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

/**
 * Admin settings of local_ferry.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

if ($hassiteconfig) {
    $settings = new admin_settingpage('local_ferry', new lang_string('pluginname', 'local_ferry'));
    $ADMIN->add('localplugins', $settings);
    // The outbox report (backlog, parked rows, resend / purge) and the connection test page.
    $ADMIN->add('localplugins', new admin_externalpage(
        'local_ferry_report',
        new lang_string('report', 'local_ferry'),
        new moodle_url('/local/ferry/report.php'),
        'moodle/site:config'
    ));
    $ADMIN->add('localplugins', new admin_externalpage(
        'local_ferry_testconnection',
        new lang_string('testconnection', 'local_ferry'),
        new moodle_url('/local/ferry/testconnection.php'),
        'moodle/site:config',
        true
    ));

    if ($ADMIN->fulltree) {
        $settings->add(new admin_setting_configtext(
            'local_ferry/url',
            new lang_string('url', 'local_ferry'),
            new lang_string('url_desc', 'local_ferry'),
            '',
            PARAM_URL
        ));

        $settings->add(new admin_setting_configpasswordunmask(
            'local_ferry/token',
            new lang_string('token', 'local_ferry'),
            new lang_string('token_desc', 'local_ferry'),
            ''
        ));

        $settings->add(new admin_setting_configselect(
            'local_ferry/events',
            new lang_string('events', 'local_ferry'),
            new lang_string('events_desc', 'local_ferry'),
            'learning',
            [
                'learning' => new lang_string('events_learning', 'local_ferry'),
                'userevents' => new lang_string('events_userevents', 'local_ferry'),
                'all' => new lang_string('events_all', 'local_ferry'),
            ]
        ));

        $settings->add(new admin_setting_configcheckbox(
            'local_ferry/skipstaff',
            new lang_string('skipstaff', 'local_ferry'),
            new lang_string('skipstaff_desc', 'local_ferry'),
            1
        ));

        // A choice, not free text: bounded by construction (and by the sender's own clamp).
        $sizes = [10, 25, 50, 100, 250, 500, \local_ferry\sender::MAX_BATCHSIZE];
        $settings->add(new admin_setting_configselect(
            'local_ferry/batchsize',
            new lang_string('batchsize', 'local_ferry'),
            new lang_string('batchsize_desc', 'local_ferry'),
            100,
            array_combine($sizes, $sizes)
        ));

        $timeout = new admin_setting_configduration(
            'local_ferry/timeout',
            new lang_string('timeout', 'local_ferry'),
            new lang_string('timeout_desc', 'local_ferry'),
            10,
            1
        );
        $timeout->set_min_duration(1);
        $timeout->set_max_duration(\local_ferry\transport::MAX_TIMEOUT);
        $settings->add($timeout);

        $settings->add(new admin_setting_heading(
            'local_ferry/monitoring',
            new lang_string('monitoring', 'local_ferry'),
            new lang_string('monitoring_desc', 'local_ferry')
        ));

        $notifyafter = new admin_setting_configduration(
            'local_ferry/notifyafter',
            new lang_string('notifyafter', 'local_ferry'),
            new lang_string('notifyafter_desc', 'local_ferry'),
            \local_ferry\monitor::DEFAULT_NOTIFY_AFTER,
            60
        );
        $notifyafter->set_min_duration(0);
        $notifyafter->set_max_duration(7 * 86400);
        $settings->add($notifyafter);

        $warning = new admin_setting_configduration(
            'local_ferry/backlogwarning',
            new lang_string('backlogwarning', 'local_ferry'),
            new lang_string('backlogwarning_desc', 'local_ferry'),
            \local_ferry\check\delivery::DEFAULT_WARNING_AGE,
            60
        );
        $warning->set_min_duration(60);
        $warning->set_max_duration(7 * 86400);
        $settings->add($warning);

        $critical = new admin_setting_configduration(
            'local_ferry/backlogcritical',
            new lang_string('backlogcritical', 'local_ferry'),
            new lang_string('backlogcritical_desc', 'local_ferry'),
            \local_ferry\check\delivery::DEFAULT_CRITICAL_AGE,
            3600
        );
        $critical->set_min_duration(60);
        $critical->set_max_duration(30 * 86400);
        $settings->add($critical);

        $caps = [10000, 50000, \local_ferry\outbox::DEFAULT_MAX_ROWS, 500000, 1000000];
        $settings->add(new admin_setting_configselect(
            'local_ferry/maxrows',
            new lang_string('maxrows', 'local_ferry'),
            new lang_string('maxrows_desc', 'local_ferry'),
            \local_ferry\outbox::DEFAULT_MAX_ROWS,
            array_combine($caps, $caps)
        ));

        $retention = new admin_setting_configduration(
            'local_ferry/parkedretention',
            new lang_string('parkedretention', 'local_ferry'),
            new lang_string('parkedretention_desc', 'local_ferry'),
            \local_ferry\outbox::DEFAULT_PARKED_RETENTION,
            86400
        );
        $retention->set_min_duration(86400);
        $retention->set_max_duration(365 * 86400);
        $settings->add($retention);

        // A link rather than an AJAX button: the check runs server-side through \curl,
        // so it sees exactly what the sender will see (proxy, HTTP security block list).
        $testurl = new moodle_url('/local/ferry/testconnection.php', ['sesskey' => sesskey()]);
        $reporturl = new moodle_url('/local/ferry/report.php');
        $settings->add(new admin_setting_description(
            'local_ferry/testconnection',
            new lang_string('testconnection', 'local_ferry'),
            html_writer::link($testurl, get_string('testconnection_link', 'local_ferry')) . ' · '
                . html_writer::link($reporturl, get_string('report', 'local_ferry'))
        ));
    }
}
