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

namespace local_ferry\local;

use local_ferry\outbox;

/**
 * The actions of the outbox report page. Every one changes data, so every one needs the
 * session key (a POST from the page itself) and the site configuration capability.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class report_actions {
    /** Action names, as posted by the report page. */
    public const ACTIONS = ['resend', 'purge', 'retrynow'];

    /**
     * Runs an action after checking the session key and the capability.
     *
     * @param string $action resend, purge or retrynow
     * @param int $id one parked row, or 0 for all (resend, purge)
     * @return int rows affected
     * @throws \moodle_exception on a missing or wrong session key, or an unknown action
     * @throws \required_capability_exception without moodle/site:config
     */
    public static function run(string $action, int $id = 0): int {
        require_sesskey();
        require_capability('moodle/site:config', \context_system::instance());
        switch ($action) {
            case 'resend':
                return outbox::resend_parked($id ?: null);
            case 'purge':
                return outbox::purge_parked($id ?: null);
            case 'retrynow':
                return outbox::retry_now();
        }
        throw new \moodle_exception('invalidaction', 'local_ferry', '', s($action));
    }
}
