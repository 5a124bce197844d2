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
 * Settings page link target: checks that Moodle can reach ferry and explains why not.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require(__DIR__ . '/../../config.php');
require_once($CFG->libdir . '/adminlib.php');

// Login, moodle/site:config, the admin navigation and layout.
admin_externalpage_setup('local_ferry_testconnection');
// The check makes an outgoing request, so only on a deliberate click.
require_sesskey();

$result = \local_ferry\connection::test();

echo $OUTPUT->header();
echo $OUTPUT->notification(s($result->message), $result->ok ? 'success' : 'error');
if ($result->hint) {
    echo html_writer::tag('p', s($result->hint));
}
echo $OUTPUT->continue_button(new moodle_url('/admin/settings.php', ['section' => 'local_ferry']));
echo $OUTPUT->footer();
