<?php
// PHPUnit bootstrap: the moodle_standin (NOT Moodle) plus the shared test case.
// @license GNU GPL v3 or later

require_once(__DIR__ . '/moodle_standin/bootstrap.php');
require_once(__DIR__ . '/phpunit/ferry_testcase.php');
