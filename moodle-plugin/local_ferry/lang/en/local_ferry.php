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

$string['action_purge'] = 'Delete';
$string['action_purgeall'] = 'Delete all parked events';
$string['action_resend'] = 'Send again';
$string['action_resendall'] = 'Send all parked events again';
$string['action_retrynow'] = 'Retry now (skip the wait)';
$string['backlogcritical'] = 'Backlog critical after';
$string['backlogcritical_desc'] = 'The status check (Site administration › Reports › System status) turns critical when the oldest waiting event is older than this, or when 100 or more events are parked.';
$string['backlogwarning'] = 'Backlog warning after';
$string['backlogwarning_desc'] = 'The status check turns to warning when the oldest waiting event is older than this, or when any event is parked.';
$string['batchsize'] = 'Batch size';
$string['batchsize_desc'] = 'Most events sent to ferry in one request (a batch also stays below 900 KB). Larger batches catch up faster after an outage.';
$string['check_backlog'] = '{$a->pending} events waiting for ferry, the oldest for {$a->age}; {$a->parked} parked.';
$string['check_lasterror'] = 'Last delivery error: {$a->error}';
$string['check_notconfigured'] = 'No ferry URL is configured; nothing is recorded or sent.';
$string['check_ok'] = 'Events reach ferry: {$a->pending} waiting, none parked.';
$string['checkdelivery'] = 'Delivery of events to ferry';
$string['done_purge'] = '{$a} parked events deleted.';
$string['done_resend'] = '{$a} parked events queued again.';
$string['done_retrynow'] = '{$a} waiting events will be sent at the next run of the task.';
$string['events'] = 'Events to send';
$string['events_all'] = 'All events';
$string['events_desc'] = 'Which events are recorded and sent. Account, enrolment and grade events, and user deletions and unenrolments (with ids only, so that ferry can erase its data), are always sent.';
$string['events_learning'] = 'Learning events: participation, grades, completion, role changes, accounts and enrolments';
$string['events_userevents'] = 'Only user created/updated, user enrolled and user graded events';
$string['invalidaction'] = 'Unknown action: {$a}';
$string['maxrows'] = 'Outbox size limit';
$string['maxrows_desc'] = 'Most events kept in the outbox. During a long outage the oldest events beyond this limit are dropped (the report page counts them), so the table cannot grow without bound.';
$string['messageprovider:deliveryfailing'] = 'Events cannot be delivered to ferry';
$string['monitoring'] = 'Monitoring and retention';
$string['monitoring_desc'] = 'The outbox report, the status check and the notification to administrators use these thresholds.';
$string['notify_body'] = 'Moodle has not been able to deliver events to ferry since {$a->since}. {$a->pending} events are waiting in the outbox and will be sent once ferry answers again.

Last error: {$a->error}

Outbox report: {$a->url}';
$string['notify_subject'] = 'ferry: events cannot be delivered';
$string['notifyafter'] = 'Notify administrators after';
$string['notifyafter_desc'] = 'When delivery has failed for this long, site administrators get one notification (once per outage). 0 turns the notification off.';
$string['parkedretention'] = 'Keep parked events for';
$string['parkedretention_desc'] = 'Parked events (rejected by ferry) older than this are deleted.';
$string['pluginname'] = 'ferry';
$string['privacy:metadata:ferry'] = 'Events are sent to ferry, the school\'s event hub, which uses them to recommend learning activities. Each field below is sent where it applies; IP addresses are never sent.';
$string['privacy:metadata:ferry:action'] = 'The action of the event (for example viewed, submitted).';
$string['privacy:metadata:ferry:anonymous'] = 'Whether the event is anonymous (anonymous events are never sent).';
$string['privacy:metadata:ferry:city'] = 'The city (account created or updated).';
$string['privacy:metadata:ferry:cmid'] = 'The course module of a graded activity.';
$string['privacy:metadata:ferry:cmname'] = 'The name of the activity.';
$string['privacy:metadata:ferry:completionstate'] = 'The activity completion state.';
$string['privacy:metadata:ferry:component'] = 'The component that triggered the event.';
$string['privacy:metadata:ferry:contextid'] = 'The context of the event.';
$string['privacy:metadata:ferry:contextinstanceid'] = 'The instance of the event\'s context (course module, course, user).';
$string['privacy:metadata:ferry:contextlevel'] = 'The context level of the event.';
$string['privacy:metadata:ferry:country'] = 'The country (account created or updated).';
$string['privacy:metadata:ferry:courseid'] = 'The ID of the course.';
$string['privacy:metadata:ferry:crud'] = 'Whether the event created, read, updated or deleted something.';
$string['privacy:metadata:ferry:deleted'] = 'Whether the account is deleted.';
$string['privacy:metadata:ferry:edulevel'] = 'The educational level of the event.';
$string['privacy:metadata:ferry:email'] = 'The email address (account created or updated).';
$string['privacy:metadata:ferry:enrollmentid'] = 'The ID of the enrolment.';
$string['privacy:metadata:ferry:eventname'] = 'The name of the event.';
$string['privacy:metadata:ferry:feedback'] = 'The feedback given with the grade.';
$string['privacy:metadata:ferry:finalgrade'] = 'The grade.';
$string['privacy:metadata:ferry:firstname'] = 'The first name (account created or updated).';
$string['privacy:metadata:ferry:gradeid'] = 'The ID of the grade.';
$string['privacy:metadata:ferry:gradeitem'] = 'The grade item.';
$string['privacy:metadata:ferry:grademax'] = 'The highest possible grade.';
$string['privacy:metadata:ferry:grader'] = 'The ID of the user who gave the grade.';
$string['privacy:metadata:ferry:idempotency_key'] = 'A key made of the site and the outbox row, so that ferry stores each event once.';
$string['privacy:metadata:ferry:idnumber'] = 'The ID number (account created or updated).';
$string['privacy:metadata:ferry:itemid'] = 'The grade item.';
$string['privacy:metadata:ferry:itemname'] = 'The name of the grade item.';
$string['privacy:metadata:ferry:lastname'] = 'The last name (account created or updated).';
$string['privacy:metadata:ferry:modname'] = 'The type of the activity.';
$string['privacy:metadata:ferry:objectid'] = 'The ID of the object the event is about.';
$string['privacy:metadata:ferry:objecttable'] = 'The table of the object the event is about.';
$string['privacy:metadata:ferry:origin'] = 'Where the event came from (web, cli, ws, restore).';
$string['privacy:metadata:ferry:other'] = 'Further event details recorded by Moodle (not sent for user deletions and unenrolments).';
$string['privacy:metadata:ferry:phone1'] = 'The phone number (account created or updated).';
$string['privacy:metadata:ferry:realuserid'] = 'The ID of the real user when an administrator is logged in as another user.';
$string['privacy:metadata:ferry:relateduserid'] = 'The ID of the user the event is about.';
$string['privacy:metadata:ferry:roleid'] = 'The role the enrolment gave.';
$string['privacy:metadata:ferry:sectionid'] = 'The course section of the activity.';
$string['privacy:metadata:ferry:status'] = 'Whether the enrolment is active or suspended.';
$string['privacy:metadata:ferry:suspended'] = 'Whether the account is suspended.';
$string['privacy:metadata:ferry:target'] = 'What the event acted on.';
$string['privacy:metadata:ferry:timecreated'] = 'When the event happened, or when the account or enrolment was created.';
$string['privacy:metadata:ferry:timeend'] = 'When the enrolment ends.';
$string['privacy:metadata:ferry:timemodified'] = 'When the account or grade was last modified.';
$string['privacy:metadata:ferry:timestart'] = 'When the enrolment starts.';
$string['privacy:metadata:ferry:userid'] = 'The ID of the user who acted (or, for account, enrolment and grade calls, of the user concerned).';
$string['privacy:metadata:ferry:username'] = 'The username (account created or updated).';
$string['privacy:metadata:outbox'] = 'Events waiting to be sent to ferry. They are deleted once ferry has received them.';
$string['privacy:metadata:outbox:contextid'] = 'The context of the event.';
$string['privacy:metadata:outbox:eventname'] = 'The name of the event.';
$string['privacy:metadata:outbox:lasterror'] = 'The last delivery error.';
$string['privacy:metadata:outbox:payload'] = 'The event data that will be sent.';
$string['privacy:metadata:outbox:relateduserid'] = 'The ID of the user the event is about.';
$string['privacy:metadata:outbox:timecreated'] = 'When the event was recorded.';
$string['privacy:metadata:outbox:userid'] = 'The ID of the user who acted.';
$string['privacy:path:outbox'] = 'Events waiting for ferry';
$string['report'] = 'ferry outbox';
$string['report_attempts'] = 'Attempts';
$string['report_dropped'] = 'Dropped by the outbox size limit';
$string['report_event'] = 'Event';
$string['report_failingsince'] = 'Delivery failing since';
$string['report_id'] = 'ID';
$string['report_lasterror'] = 'Last error';
$string['report_nextattempt'] = 'Next attempt';
$string['report_noparked'] = 'No parked events.';
$string['report_oldest'] = 'Oldest waiting event';
$string['report_parked'] = 'Parked events (rejected by ferry)';
$string['report_parkedrows'] = 'Parked events';
$string['report_pending'] = 'Events waiting for ferry';
$string['report_time'] = 'Time';
$string['skipstaff'] = 'Skip staff';
$string['skipstaff_desc'] = 'Do not send the activity of site administrators and of teachers (users who can manage activities or view all grades in the course: managers, teachers and non-editing teachers), so that it does not train the learner models. Grades they give to students are still sent.';
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
$string['timeout_desc'] = 'How long to wait for ferry (1 second to 1 minute) before a delivery attempt counts as failed and is retried later.';
$string['token'] = 'Token';
$string['token_desc'] = 'Sent as the X-Moodle-Token header. Must be one of moodle.tokens in ferry\'s config.yaml.';
$string['url'] = 'ferry URL';
$string['url_desc'] = 'Base URL of ferry, for example https://ferry.example.org. Events are recorded only while this is set.';
