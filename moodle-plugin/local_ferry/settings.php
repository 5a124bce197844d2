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

        $settings->add(new admin_setting_configtext(
            'local_ferry/batchsize',
            new lang_string('batchsize', 'local_ferry'),
            new lang_string('batchsize_desc', 'local_ferry'),
            100,
            PARAM_INT
        ));

        $settings->add(new admin_setting_configtext(
            'local_ferry/timeout',
            new lang_string('timeout', 'local_ferry'),
            new lang_string('timeout_desc', 'local_ferry'),
            10,
            PARAM_INT
        ));

        // A link rather than an AJAX button: the check runs server-side through \curl,
        // so it sees exactly what the sender will see (proxy, HTTP security block list).
        $testurl = new moodle_url('/local/ferry/testconnection.php', ['sesskey' => sesskey()]);
        $settings->add(new admin_setting_description(
            'local_ferry/testconnection',
            new lang_string('testconnection', 'local_ferry'),
            html_writer::link($testurl, get_string('testconnection_link', 'local_ferry'))
        ));
    }
}
