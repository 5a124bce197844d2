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
 * The outbox seen by an admin: backlog figures, parked rows, the resend / purge / retry actions
 * and the retention cap. Used by the report page, the check and the scheduled task.
 *
 * @package    local_ferry
 * @copyright  2025 ferry contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class outbox {
    /** Default retention cap: most rows kept in the outbox. */
    public const DEFAULT_MAX_ROWS = 100000;

    /** Default: parked rows older than this are deleted (seconds). */
    public const DEFAULT_PARKED_RETENTION = 30 * 86400;

    /** Parked rows shown on the report page. */
    public const REPORT_LIMIT = 100;

    /**
     * Backlog figures.
     *
     * @param int $now
     * @return \stdClass pending, parked, oldest (time or null), oldestage (seconds), nextattempt, lasterror,
     *                   failingsince, dropped, droppedat
     */
    public static function summary(int $now): \stdClass {
        global $DB;
        $config = (object)get_config('local_ferry');
        $head = $DB->get_records_select(
            observer::TABLE,
            'parked = 0',
            [],
            'id ASC',
            'id, timecreated, nextattempt, lasterror',
            0,
            1
        );
        $head = $head ? reset($head) : null;
        return (object)[
            'pending' => $DB->count_records(observer::TABLE, ['parked' => 0]),
            'parked' => $DB->count_records(observer::TABLE, ['parked' => 1]),
            'oldest' => $head ? (int)$head->timecreated : null,
            'oldestage' => $head ? max(0, $now - (int)$head->timecreated) : 0,
            'nextattempt' => $head ? (int)$head->nextattempt : null,
            'lasterror' => $head ? $head->lasterror : null,
            'failingsince' => empty($config->failingsince) ? null : (int)$config->failingsince,
            'dropped' => (int)($config->droppedrows ?? 0),
            'droppedat' => empty($config->droppedat) ? null : (int)$config->droppedat,
        ];
    }

    /**
     * Parked rows, oldest first.
     *
     * @param int $limit
     * @return \stdClass[] id, eventname, userid, timecreated, attempts, lasterror
     */
    public static function parked(int $limit = self::REPORT_LIMIT): array {
        global $DB;
        return array_values($DB->get_records(
            observer::TABLE,
            ['parked' => 1],
            'id ASC',
            'id, eventname, userid, relateduserid, timecreated, attempts, lasterror',
            0,
            $limit
        ));
    }

    /**
     * Puts parked rows back in the queue, due now (after fixing what ferry rejected).
     *
     * @param int|null $id one row, or null for all parked rows
     * @return int rows requeued
     */
    public static function resend_parked(?int $id = null): int {
        global $DB;
        [$select, $params] = self::parked_select($id);
        $count = $DB->count_records_select(observer::TABLE, $select, $params);
        $sql = 'UPDATE {' . observer::TABLE . '} SET parked = 0, attempts = 0, nextattempt = 0 WHERE ' . $select;
        $DB->execute($sql, $params);
        return $count;
    }

    /**
     * Deletes parked rows (they will never reach ferry).
     *
     * @param int|null $id one row, or null for all parked rows
     * @return int rows deleted
     */
    public static function purge_parked(?int $id = null): int {
        global $DB;
        [$select, $params] = self::parked_select($id);
        $count = $DB->count_records_select(observer::TABLE, $select, $params);
        $DB->delete_records_select(observer::TABLE, $select, $params);
        return $count;
    }

    /**
     * Makes every waiting row due now: after an outage, no need to wait for the backoff.
     *
     * @return int rows made due
     */
    public static function retry_now(): int {
        global $DB;
        $count = $DB->count_records_select(observer::TABLE, 'parked = 0 AND nextattempt > 0');
        $DB->execute('UPDATE {' . observer::TABLE . '} SET nextattempt = 0 WHERE parked = 0 AND nextattempt > 0');
        return $count;
    }

    /**
     * Retention: parked rows past their retention go, and the table never holds more than maxrows
     * (the oldest rows are dropped first, counted in droppedrows and shown on the report page).
     *
     * @param int $now
     * @return int rows deleted
     */
    public static function enforce_retention(int $now): int {
        global $DB;
        $config = (object)get_config('local_ferry');
        $deleted = 0;

        $retention = isset($config->parkedretention) ? (int)$config->parkedretention : self::DEFAULT_PARKED_RETENTION;
        if ($retention > 0) {
            $select = 'parked = 1 AND timecreated < :before';
            $params = ['before' => $now - $retention];
            $deleted += $DB->count_records_select(observer::TABLE, $select, $params);
            $DB->delete_records_select(observer::TABLE, $select, $params);
        }

        $max = (int)($config->maxrows ?? self::DEFAULT_MAX_ROWS) ?: self::DEFAULT_MAX_ROWS;
        $excess = $DB->count_records(observer::TABLE) - $max;
        if ($excess > 0) {
            // The id of the last row to drop; everything up to it goes.
            $last = $DB->get_records(observer::TABLE, null, 'id ASC', 'id', $excess - 1, 1);
            $DB->delete_records_select(observer::TABLE, 'id <= :id', ['id' => (int)reset($last)->id]);
            set_config('droppedrows', (int)($config->droppedrows ?? 0) + $excess, 'local_ferry');
            set_config('droppedat', $now, 'local_ferry');
            $deleted += $excess;
        }
        return $deleted;
    }

    /**
     * WHERE clause of "parked rows, or one of them".
     *
     * @param int|null $id
     * @return array [select, params]
     */
    protected static function parked_select(?int $id): array {
        return $id ? ['parked = 1 AND id = :id', ['id' => $id]] : ['parked = 1', []];
    }
}
