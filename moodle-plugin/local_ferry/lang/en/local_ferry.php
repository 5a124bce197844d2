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
 * English strings of local_ferry.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['batchsize'] = 'Batch size';
$string['batchsize_desc'] = 'Most events sent to ferry in one request. Larger batches catch up faster after an outage.';
$string['events'] = 'Events to send';
$string['events_all'] = 'All events';
$string['events_desc'] = 'Which events are recorded and sent. Account, enrolment and grade events are always sent.';
$string['events_learning'] = 'Learning events: participation, grades, completion, role changes, accounts and enrolments';
$string['events_userevents'] = 'Only user created/updated, user enrolled and user graded events';
$string['pluginname'] = 'ferry';
$string['privacy:metadata:ferry'] = 'Events are sent to ferry, the school\'s event hub, which uses them to recommend learning activities.';
$string['privacy:metadata:ferry:eventdata'] = 'What happened: the event name, course, activity and time.';
$string['privacy:metadata:ferry:grades'] = 'Grades and completion states.';
$string['privacy:metadata:ferry:userid'] = 'The ID of the user who acted and of the user the event is about.';
$string['privacy:metadata:outbox'] = 'Events waiting to be sent to ferry. They are deleted once ferry has received them.';
$string['privacy:metadata:outbox:eventname'] = 'The name of the event.';
$string['privacy:metadata:outbox:lasterror'] = 'The last delivery error.';
$string['privacy:metadata:outbox:payload'] = 'The event data that will be sent.';
$string['privacy:metadata:outbox:relateduserid'] = 'The ID of the user the event is about.';
$string['privacy:metadata:outbox:timecreated'] = 'When the event was recorded.';
$string['privacy:metadata:outbox:userid'] = 'The ID of the user who acted.';
$string['privacy:path:outbox'] = 'Events waiting for ferry';
$string['sendfailed'] = 'Could not deliver events to ferry; they stay in the outbox and are retried. {$a}';
$string['skipstaff'] = 'Skip staff';
$string['skipstaff_desc'] = 'Do not send the activity of site administrators and of users who can manage activities in the course (teachers), so that it does not train the learner models. Grades they give to students are still sent.';
$string['task:flushoutbox'] = 'Send pending events to ferry';
$string['task:sendoutbox'] = 'Send new events to ferry';
$string['test_badstatus'] = 'ferry answered with HTTP status {$a}. Check the ferry URL.';
$string['test_blocked'] = 'Moodle refused to connect: {$a}';
$string['test_clihelp'] = 'Checks that Moodle can reach ferry (GET {url}/health), using Moodle\'s proxy and HTTP security settings.

Options:
--url=URL     ferry URL to test instead of the configured one
-h, --help    Print this help

Example:
php local/ferry/cli/test_connection.php --url=http://127.0.0.1:8000';
$string['test_httpsecurity'] = 'By default Moodle does not connect to localhost, private network addresses or ports other than 80 and 443. If ferry runs on such an address (for example http://127.0.0.1:8000), allow it in Site administration › General › Security › HTTP security: remove its address from "cURL blocked hosts list" and add its port to "cURL allowed ports list".';
$string['test_nourl'] = 'No ferry URL is configured.';
$string['test_ok'] = 'ferry at {$a} is reachable.';
$string['test_unreachable'] = 'Could not reach ferry: {$a}';
$string['testconnection'] = 'Test connection';
$string['testconnection_link'] = 'Check that Moodle can reach ferry (save your changes first)';
$string['timeout'] = 'Timeout';
$string['timeout_desc'] = 'Seconds to wait for ferry before a delivery attempt counts as failed and is retried later.';
$string['token'] = 'Token';
$string['token_desc'] = 'Sent as the X-Moodle-Token header. Must be one of moodle.tokens in ferry\'s config.yaml.';
$string['url'] = 'ferry URL';
$string['url_desc'] = 'Base URL of ferry, for example https://ferry.example.org. Events are recorded only while this is set.';
