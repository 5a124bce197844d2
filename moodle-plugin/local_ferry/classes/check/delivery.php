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

namespace local_ferry\check;

use core\check\check;
use core\check\result;
use local_ferry\outbox;

/**
 * Status check (Site administration › Reports › System status, admin/cli/checks.php): is the
 * outbox being delivered? Warning / critical on the age of the oldest waiting event and on the
 * number of parked events.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class delivery extends check {
    /** Default backlog age for a warning (seconds). */
    public const DEFAULT_WARNING_AGE = 900;

    /** Default backlog age for critical (seconds). */
    public const DEFAULT_CRITICAL_AGE = 6 * 3600;

    /** Parked rows from which the check is critical (from one on it warns). */
    public const PARKED_CRITICAL = 100;

    /**
     * Name shown on the status report.
     *
     * @return string
     */
    public function get_name(): string {
        return get_string('checkdelivery', 'local_ferry');
    }

    /**
     * Link to the outbox report.
     *
     * @return \action_link|null
     */
    public function get_action_link(): ?\action_link {
        return new \action_link(new \moodle_url('/local/ferry/report.php'), get_string('report', 'local_ferry'));
    }

    /**
     * The check's result.
     *
     * @return result
     */
    public function get_result(): result {
        return self::evaluate(time());
    }

    /**
     * The result at a given time (tests use a fixed clock).
     *
     * @param int $now
     * @return result
     */
    public static function evaluate(int $now): result {
        $config = (object)get_config('local_ferry');
        if (trim((string)($config->url ?? '')) === '') {
            return new result(result::NA, get_string('check_notconfigured', 'local_ferry'), '');
        }
        $s = outbox::summary($now);
        $warning = (int)($config->backlogwarning ?? self::DEFAULT_WARNING_AGE) ?: self::DEFAULT_WARNING_AGE;
        $critical = (int)($config->backlogcritical ?? self::DEFAULT_CRITICAL_AGE) ?: self::DEFAULT_CRITICAL_AGE;

        $a = (object)[
            'pending' => $s->pending,
            'parked' => $s->parked,
            'age' => format_time($s->oldestage),
            'error' => (string)$s->lasterror,
        ];
        if ($s->oldestage >= $critical || $s->parked >= self::PARKED_CRITICAL) {
            $status = result::CRITICAL;
        } else if ($s->oldestage >= $warning || $s->parked > 0) {
            $status = result::WARNING;
        } else {
            $status = result::OK;
        }
        $summary = $status === result::OK ? get_string('check_ok', 'local_ferry', $a)
            : get_string('check_backlog', 'local_ferry', $a);
        $details = $s->lasterror ? get_string('check_lasterror', 'local_ferry', $a) : '';
        return new result($status, $summary, $details);
    }
}
