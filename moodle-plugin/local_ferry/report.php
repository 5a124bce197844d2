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
 * Outbox report: backlog, oldest waiting event, parked events with their last error, and the
 * resend / purge / retry-now actions.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require(__DIR__ . '/../../config.php');
require_once($CFG->libdir . '/adminlib.php');

// Login, the page's capability (moodle/site:config), navigation and layout.
admin_externalpage_setup('local_ferry_report');

$pageurl = new moodle_url('/local/ferry/report.php');
$action = optional_param('action', '', PARAM_ALPHA);
if ($action !== '') {
    $count = \local_ferry\local\report_actions::run($action, optional_param('id', 0, PARAM_INT));
    $message = get_string('done_' . $action, 'local_ferry', $count);
    redirect($pageurl, $message, null, \core\output\notification::NOTIFY_SUCCESS);
}

$now = time();
$summary = \local_ferry\outbox::summary($now);
$check = \local_ferry\check\delivery::evaluate($now);

echo $OUTPUT->header();
echo $OUTPUT->heading(get_string('report', 'local_ferry'));

$statusclass = ['ok' => 'success', 'warning' => 'warning', 'critical' => 'error', 'na' => 'info'];
echo $OUTPUT->notification(s($check->get_summary()), $statusclass[$check->get_status()] ?? 'info');

$table = new html_table();
$table->attributes['class'] = 'generaltable';
$table->data = [
    [get_string('report_pending', 'local_ferry'), $summary->pending],
    [get_string('report_oldest', 'local_ferry'),
        $summary->oldest ? userdate($summary->oldest) . ' (' . format_time($summary->oldestage) . ')' : '-'],
    [get_string('report_nextattempt', 'local_ferry'), $summary->nextattempt ? userdate($summary->nextattempt) : '-'],
    [get_string('report_lasterror', 'local_ferry'), s((string)$summary->lasterror) ?: '-'],
    [get_string('report_failingsince', 'local_ferry'), $summary->failingsince ? userdate($summary->failingsince) : '-'],
    [get_string('report_parked', 'local_ferry'), $summary->parked],
    [get_string('report_dropped', 'local_ferry'),
        $summary->dropped ? $summary->dropped . ' (' . userdate($summary->droppedat) . ')' : '0'],
];
echo html_writer::table($table);

if ($summary->pending && $summary->nextattempt > $now) {
    $retryurl = new moodle_url($pageurl, ['action' => 'retrynow']);
    echo $OUTPUT->single_button($retryurl, get_string('action_retrynow', 'local_ferry'));
}

echo $OUTPUT->heading(get_string('report_parkedrows', 'local_ferry'), 3);
$parked = \local_ferry\outbox::parked();
if (!$parked) {
    echo html_writer::tag('p', get_string('report_noparked', 'local_ferry'));
} else {
    $resendurl = new moodle_url($pageurl, ['action' => 'resend']);
    echo $OUTPUT->single_button($resendurl, get_string('action_resendall', 'local_ferry'));
    $purgeurl = new moodle_url($pageurl, ['action' => 'purge']);
    echo $OUTPUT->single_button($purgeurl, get_string('action_purgeall', 'local_ferry'));
    $rows = new html_table();
    $rows->head = [get_string('report_id', 'local_ferry'), get_string('report_event', 'local_ferry'),
        get_string('report_time', 'local_ferry'), get_string('report_attempts', 'local_ferry'),
        get_string('report_lasterror', 'local_ferry'), ''];
    foreach ($parked as $row) {
        $buttons = $OUTPUT->single_button(
            new moodle_url($pageurl, ['action' => 'resend', 'id' => $row->id]),
            get_string('action_resend', 'local_ferry')
        )
            . $OUTPUT->single_button(
                new moodle_url($pageurl, ['action' => 'purge', 'id' => $row->id]),
                get_string('action_purge', 'local_ferry')
            );
        $rows->data[] = [$row->id, s($row->eventname), userdate($row->timecreated), $row->attempts,
            s((string)$row->lasterror),
            $buttons];
    }
    echo html_writer::table($rows);
}
echo $OUTPUT->footer();
