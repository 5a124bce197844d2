<?php
// End-to-end driver: the REAL local_ferry observer and sender, run by php-cli on the
// moodle_standin (NOT Moodle), against a real ferry.
//
// 1. Turns the real get_data() rows of fixtures/moodle/get_data_examples.json into events and
//    hands them to \local_ferry\observer::handle() (filtering, staff skip, enrichment, outbox).
// 2. Runs \local_ferry\sender::flush() against FERRY_URL.
// 3. Prints JSON: what was recorded/skipped, every HTTP request and its answer, what was sent,
//    and what is kept in the outbox.
//
// The outbox is a SQLite file, so separate runs see the same queue (ferry down, then back up).
//
// Usage: php run_sender.php [--db=FILE] [--fixtures=FILE] [--url=URL] [--token=TOKEN]
//                           [--time-shift=SECONDS] [--clock=+SECONDS] [--no-enqueue] [--no-send]
//                           [--only=EVENTNAME] [--repeat=N] [--deletions]
// --only keeps one event of the fixtures, --repeat triggers each event N times (real repeated events,
// same user, object and second), --deletions triggers deletion_events.json instead of the fixtures.
// Environment (used when the option is absent): FERRY_E2E_DB, FERRY_FIXTURES (file, or the
// fixtures directory), FERRY_URL, FERRY_MOODLE_TOKEN.
// Default fixtures: <project root>/../shared/fixtures/moodle/get_data_examples.json.
// Exit code: 0, or 2 when a delivery failed (rows kept for retry; the sender itself returns normally).
//
// @license GNU GPL v3 or later

$options = getopt('', ['db:', 'fixtures:', 'url:', 'token:', 'time-shift:', 'clock:', 'no-enqueue', 'no-send', 'help',
    'only:', 'repeat:', 'deletions']);
if (isset($options['help'])) {
    fwrite(STDOUT, "see the header of " . __FILE__ . "\n");
    exit(0);
}

$projectroot = dirname(__DIR__, 3);
$db = $options['db'] ?? (getenv('FERRY_E2E_DB') ?: sys_get_temp_dir() . '/ferry_e2e_outbox.sqlite');
$fixtures = $options['fixtures'] ?? (getenv('FERRY_FIXTURES') ?: $projectroot . '/../shared/fixtures');
if (is_dir($fixtures)) {
    $fixtures = is_file("$fixtures/moodle/get_data_examples.json") ? "$fixtures/moodle/get_data_examples.json"
        : "$fixtures/get_data_examples.json";
}
$url = $options['url'] ?? (getenv('FERRY_URL') ?: '');
$token = $options['token'] ?? (getenv('FERRY_MOODLE_TOKEN') ?: 'e2e-moodle-token');
$timeshift = (int)($options['time-shift'] ?? 0);
$repeat = max(1, (int)($options['repeat'] ?? 1));
if (isset($options['deletions'])) {
    $fixtures = __DIR__ . '/deletion_events.json';
}
$clock = isset($options['clock']) ? time() + (int)$options['clock'] : null;

if ($url === '') {
    fwrite(STDERR, "FERRY_URL (or --url) is required\n");
    exit(1);
}

require_once(__DIR__ . '/../moodle_standin/bootstrap.php');

use moodle_standin\standin;

standin::reset($db);

// The fixtures' site: user 2 is the admin, 3 was created by the admin, 4 is the learner, enrolled
// (user_enrolments 5) with the student role (5) in course 2, whose context id is 18.
// The course's modules and section ids are invented here: the fixtures do not include them.
$pdo = $DB->pdo;
if (!$pdo->query('SELECT COUNT(*) FROM "user"')->fetchColumn()) {
    $now = time();
    $users = [[1, 'guest', 'Guest', 'User'], [2, 'admin', 'Admin', 'User'], [3, 'ben', 'Ben', 'Okoro'],
        [4, 'ana', 'Ana', 'Silva']];
    foreach ($users as [$id, $username, $first, $last]) {
        $pdo->prepare('INSERT INTO "user" (id, username, firstname, lastname, email, country, timecreated, timemodified)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)')->execute([$id, $username, $first, $last, "$username@example.org", 'PT',
            $now, $now]);
    }
    $pdo->exec("INSERT INTO enrol (id, enrol, courseid, roleid) VALUES (1, 'manual', 2, 5)");
    $pdo->exec("INSERT INTO user_enrolments (id, enrolid, userid, status, timestart, timeend, timecreated)
        VALUES (5, 1, 4, 0, 1754164700, 0, 1754164724)");
    $pdo->exec('INSERT INTO role_assignments (roleid, contextid, userid) VALUES (5, 18, 4)');
}
standin::make_siteadmin(2);
standin::add_cm(2, 3, 14, 'page', 1, 'Welcome');
standin::add_cm(2, 30, 15, 'quiz', 1, 'Quiz 1');
standin::add_cm(2, 21, 15, 'assign', 1, 'Essay 1');

set_config('url', $url, 'local_ferry');
set_config('token', $token, 'local_ferry');
set_config('events', 'learning', 'local_ferry');
set_config('skipstaff', 1, 'local_ferry');
set_config('batchsize', 100, 'local_ferry');
set_config('timeout', 10, 'local_ferry');

$out = ['fixtures' => $fixtures, 'db' => $db, 'recorded' => [], 'skipped' => []];

if (!isset($options['no-enqueue'])) {
    $rows = json_decode((string)file_get_contents($fixtures), true);
    if (!is_array($rows)) {
        fwrite(STDERR, "cannot read fixtures from $fixtures\n");
        exit(1);
    }
    if (isset($options['only'])) {
        $rows = array_values(array_filter($rows, fn($row) => $row['eventname'] === $options['only']));
    }
    foreach (array_merge(...array_fill(0, $repeat, $rows)) as $row) {
        unset($row['_meta']);
        $row['timecreated'] += $timeshift;
        $grade = null;
        if ($row['eventname'] === '\core\event\user_graded') {
            // What user_graded::create_from_grade() carries: the grade and its (quiz) grade item.
            $grade = (object)['id' => $row['objectid'], 'itemid' => $row['other']['itemid'],
                'userid' => $row['relateduserid'], 'finalgrade' => $row['other']['finalgrade'], 'feedback' => '',
                'usermodified' => $row['userid'], 'timemodified' => $row['timecreated'],
                'grade_item' => (object)['id' => $row['other']['itemid'], 'courseid' => $row['courseid'],
                    'itemtype' => 'mod', 'itemmodule' => 'quiz', 'iteminstance' => 1, 'itemname' => 'Quiz 1',
                    'grademax' => 10]];
        }
        $before = $DB->count_records('local_ferry_outbox');
        \local_ferry\observer::handle(standin::event($row, $grade));
        $recorded = $DB->count_records('local_ferry_outbox') > $before;
        $out[$recorded ? 'recorded' : 'skipped'][] = $row['eventname'];
    }
}

$out['exception'] = null;
$out['stats'] = null;
if (!isset($options['no-send'])) {
    $sender = new \local_ferry\sender();
    try {
        $sender->flush($clock);
    } catch (\Throwable $e) {
        // The sender must never throw for a delivery failure; anything here is a bug the test reports.
        $out['exception'] = get_class($e) . ': ' . $e->getMessage();
    }
    $out['stats'] = $sender->stats;
}

$out['kept'] = [];
foreach ($DB->get_records('local_ferry_outbox', null, 'id ASC') as $row) {
    $out['kept'][] = ['id' => (int)$row->id, 'eventname' => $row->eventname, 'attempts' => (int)$row->attempts,
        'nextattempt' => (int)$row->nextattempt, 'parked' => (int)$row->parked, 'lasterror' => $row->lasterror];
}

echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n";
exit($out['exception'] === null && empty($out['stats']['transient']) ? 0 : 2);
