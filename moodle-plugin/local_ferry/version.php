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
 * Version information for local_ferry.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$plugin->component = 'local_ferry';
$plugin->version = 2025120200;
$plugin->release = '0.1.0';
// Moodle 4.5 LTS or later. No upper bound ($plugin->supported): the APIs used are stable in 5.x,
// and a bound would flag the plugin as unsupported on the next Moodle release.
$plugin->requires = 2024100700;
// Beta until it has run on production sites: 0.x releases may still change settings and behaviour.
$plugin->maturity = MATURITY_BETA;
