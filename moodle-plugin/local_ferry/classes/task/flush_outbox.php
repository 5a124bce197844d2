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

namespace local_ferry\task;

/**
 * Scheduled task (every minute): the safety net for rows the adhoc task did not send.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class flush_outbox extends \core\task\scheduled_task {
    /**
     * Task name shown on the scheduled tasks page.
     *
     * @return string
     */
    public function get_name() {
        return get_string('task:flushoutbox', 'local_ferry');
    }

    /**
     * Applies the retention cap, then sends what is due. A failed delivery does not fail the task:
     * the rows carry their own backoff, and Moodle's fail delay would only add to it.
     *
     * @return void
     */
    public function execute() {
        $dropped = \local_ferry\outbox::enforce_retention(time());
        if ($dropped) {
            mtrace("local_ferry: retention removed {$dropped} events from the outbox");
        }
        $stats = (new \local_ferry\sender())->flush();
        mtrace(\local_ferry\sender::summary($stats));
    }
}
