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
 * Adhoc task queued by the observer for near-real-time delivery.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class send_outbox extends \core\task\adhoc_task {
    /**
     * Task name shown in the task logs.
     *
     * @return string
     */
    public function get_name() {
        return get_string('task:sendoutbox', 'local_ferry');
    }

    /**
     * Sends what is due. A failed delivery does not fail the task (see flush_outbox): the rows wait
     * for their backoff, and the scheduled task picks them up.
     *
     * @return void
     */
    public function execute() {
        $stats = (new \local_ferry\sender())->flush();
        mtrace(\local_ferry\sender::summary($stats));
    }
}
