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

/**
 * Upgrade local_ferry from an older version.
 *
 * @param int $oldversion The version we are upgrading from.
 * @return bool
 */
function xmldb_local_ferry_upgrade($oldversion) {
    global $DB;
    $dbman = $DB->get_manager();

    if ($oldversion < 2025120200) {
        // Outbox rows carry the event's context, so privacy requests are answered per context.
        $table = new xmldb_table('local_ferry_outbox');
        $field = new xmldb_field(
            'contextid',
            XMLDB_TYPE_INTEGER,
            '10',
            null,
            XMLDB_NOTNULL,
            null,
            '0',
            'relateduserid'
        );
        if (!$dbman->field_exists($table, $field)) {
            $dbman->add_field($table, $field);
        }
        $index = new xmldb_index('contextid', XMLDB_INDEX_NOTUNIQUE, ['contextid']);
        if (!$dbman->index_exists($table, $index)) {
            $dbman->add_index($table, $index);
        }
        // Rows queued before the upgrade: the context is in their payload; read it back.
        $rows = $DB->get_recordset_select('local_ferry_outbox', 'contextid = 0', null, 'id ASC', 'id, payload');
        foreach ($rows as $row) {
            $contextid = (int)(json_decode($row->payload)->contextid ?? 0);
            if ($contextid) {
                $DB->set_field('local_ferry_outbox', 'contextid', $contextid, ['id' => $row->id]);
            }
        }
        $rows->close();
        upgrade_plugin_savepoint(true, 2025120200, 'local', 'ferry');
    }

    return true;
}
