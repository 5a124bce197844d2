<?php
// Test HTTP receiver for `php -S` (router script). Not part of the plugin.
//
// Answers from RECEIVER_DIR/control.json: {"routes": {"/path": [status, ...], "*": [status]},
// "location": URL sent with 3xx answers, "delay_ms": N (sleep before answering)}.
// Each request takes the first status of its route's list; the last one stays for later requests.
// Every request is appended to RECEIVER_DIR/requests.jsonl.
// @license GNU GPL v3 or later

$dir = getenv('RECEIVER_DIR');
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
$body = file_get_contents('php://input');

$lock = fopen("$dir/control.lock", 'c');
flock($lock, LOCK_EX);
$control = json_decode((string)@file_get_contents("$dir/control.json"), true) ?: ['routes' => []];
$route = isset($control['routes'][$path]) ? $path : '*';
$list = $control['routes'][$route] ?? [200];
$status = (int)$list[0];
if (count($list) > 1) {
    array_shift($list);
    $control['routes'][$route] = $list;
    file_put_contents("$dir/control.json", json_encode($control));
}
file_put_contents("$dir/requests.jsonl", json_encode([
    'method' => $_SERVER['REQUEST_METHOD'],
    'path' => $path,
    'token' => $_SERVER['HTTP_X_MOODLE_TOKEN'] ?? null,
    'authorization' => $_SERVER['HTTP_AUTHORIZATION'] ?? null,
    'contenttype' => $_SERVER['CONTENT_TYPE'] ?? ($_SERVER['HTTP_CONTENT_TYPE'] ?? null),
    'body' => $body,
    'status' => $status,
]) . "\n", FILE_APPEND);
flock($lock, LOCK_UN);

if (!empty($control['delay_ms'])) {
    usleep((int)$control['delay_ms'] * 1000);
}
http_response_code($status);
if ($status >= 300 && $status < 400 && !empty($control['location'])) {
    header('Location: ' . $control['location']);
}
header('Content-Type: application/json');
$json = json_decode($body, true);
if ($path === '/webhook/moodle-events' && $status === 202) {
    echo json_encode(['status' => 'accepted', 'event_id' => $json['event_id'] ?? null,
        'events_received' => count($json['logs'] ?? []), 'duplicates' => 0]);
} else if ($status === 200 && strpos($path, '/api/v1/events/moodle/') === 0) {
    echo json_encode(['status' => 'ok', 'event' => substr($path, strlen('/api/v1/events/moodle/'))]);
} else if ($status >= 400) {
    echo json_encode(['error' => "test receiver answered $status"]);
} else {
    echo json_encode(['status' => 'ok']);
}
