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
 * Upgrade steps of local_ferry.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

/**
 * Upgrade local_ferry from an older version.
 *
 * The first release ships its schema in install.xml; later schema changes go here as
 * "if ($oldversion < YYYYMMDDXX) { ...; upgrade_plugin_savepoint(true, YYYYMMDDXX, 'local', 'ferry'); }".
 *
 * @param int $oldversion The version we are upgrading from.
 * @return bool
 */
function xmldb_local_ferry_upgrade($oldversion) {
    return true;
}
