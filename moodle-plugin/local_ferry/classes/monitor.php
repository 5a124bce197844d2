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

namespace local_ferry;

/**
 * Tracks how long delivery has been failing and tells the site admins once it exceeds the
 * "notify after" setting (once per outage; the streak ends with the next accepted batch).
 *
 * State lives in the plugin config: failingsince (first failure of the current outage) and
 * notifiedat (when the admins were told).
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class monitor {
    /** Default of the notifyafter setting, in seconds. */
    public const DEFAULT_NOTIFY_AFTER = 3600;

    /**
     * Updates the failure streak after a sender run.
     *
     * @param array $stats sender stats
     * @param int $now
     * @return bool whether a notification was sent
     */
    public function after_flush(array $stats, int $now): bool {
        $config = (object)get_config('local_ferry');
        if ($stats['batches'] > 0) {
            // Ferry accepted something: the outage (if any) is over.
            if (!empty($config->failingsince)) {
                unset_config('failingsince', 'local_ferry');
                unset_config('notifiedat', 'local_ferry');
            }
            return false;
        }
        if (empty($stats['transient'])) {
            return false;
        }
        if (empty($config->failingsince)) {
            set_config('failingsince', $now, 'local_ferry');
            $config->failingsince = $now;
        }
        $after = isset($config->notifyafter) ? (int)$config->notifyafter : self::DEFAULT_NOTIFY_AFTER;
        if ($after <= 0 || !empty($config->notifiedat) || $now - (int)$config->failingsince < $after) {
            return false;
        }
        $this->notify_admins((int)$config->failingsince, (string)$stats['error']);
        set_config('notifiedat', $now, 'local_ferry');
        return true;
    }

    /**
     * Sends the "delivery failing" notification to every site admin.
     *
     * @param int $since first failure
     * @param string $error last error
     * @return void
     */
    protected function notify_admins(int $since, string $error): void {
        $a = (object)[
            'since' => userdate($since),
            'error' => $error,
            'pending' => outbox::summary(time())->pending,
            'url' => (new \moodle_url('/local/ferry/report.php'))->out(false),
        ];
        foreach (get_admins() as $admin) {
            $message = new \core\message\message();
            $message->courseid = SITEID;
            $message->component = 'local_ferry';
            $message->name = 'deliveryfailing';
            $message->userfrom = \core_user::get_noreply_user();
            $message->userto = $admin;
            $message->subject = get_string('notify_subject', 'local_ferry');
            $message->fullmessage = get_string('notify_body', 'local_ferry', $a);
            $message->fullmessageformat = FORMAT_PLAIN;
            $message->fullmessagehtml = '';
            $message->smallmessage = get_string('notify_subject', 'local_ferry');
            $message->notification = 1;
            $message->contexturl = $a->url;
            $message->contexturlname = get_string('report', 'local_ferry');
            message_send($message);
        }
    }
}
